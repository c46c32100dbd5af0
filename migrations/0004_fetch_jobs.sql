CREATE TABLE "fetch_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"url" text NOT NULL,
	"webhook_url" text,
	"file_name" text,
	"expected_mime_types" text[],
	"idempotency_key" text,
	"input_hash" text NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"error_code" text,
	"error_message" text,
	"metadata" jsonb,
	"bytes_received" bigint DEFAULT 0 NOT NULL,
	"bytes_total" bigint,
	"attempts" integer DEFAULT 0 NOT NULL,
	"storage_location" text,
	"object_key" text,
	"media_item_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "fetch_jobs_status_check" CHECK ("fetch_jobs"."status" in ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED'))
);
--> statement-breakpoint
ALTER TABLE "fetch_jobs" ADD CONSTRAINT "fetch_jobs_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fetch_jobs_account_created_idx" ON "fetch_jobs" USING btree ("account_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "fetch_jobs_idempotency_idx" ON "fetch_jobs" USING btree ("account_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "fetch_jobs_media_item_idx" ON "fetch_jobs" USING btree ("media_item_id");