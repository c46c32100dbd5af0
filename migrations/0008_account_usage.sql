CREATE TABLE "account_usage" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"media_items" bigint DEFAULT 0 NOT NULL,
	"files" bigint DEFAULT 0 NOT NULL,
	"bytes_stored" bigint DEFAULT 0 NOT NULL,
	"jobs_queued" bigint DEFAULT 0 NOT NULL,
	"jobs_running" bigint DEFAULT 0 NOT NULL,
	"downloads_day" date,
	"downloads_today" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "account_usage" ADD CONSTRAINT "account_usage_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;