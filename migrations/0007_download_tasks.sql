CREATE TABLE "download_tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"account_name" text NOT NULL,
	"input" jsonb NOT NULL,
	"destination_url" text NOT NULL,
	"destination_endpoint" text,
	"destination_region" text,
	"accept_language" text NOT NULL,
	"idempotency_key" text,
	"input_hash" text NOT NULL,
	"object_key" text,
	"result" jsonb,
	"compressed" boolean DEFAULT false NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"stage" text DEFAULT 'QUEUED' NOT NULL,
	"error_code" text,
	"error_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"bytes_received" bigint DEFAULT 0 NOT NULL,
	"bytes_total" bigint,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"heartbeat_at" timestamp (3) with time zone,
	CONSTRAINT "download_tasks_status_check" CHECK ("download_tasks"."status" in ('PENDING', 'IN_PROGRESS', 'SUCCESS', 'FAILED'))
);
--> statement-breakpoint
CREATE TABLE "storage_destinations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"url" text NOT NULL,
	"type" text NOT NULL,
	"endpoint" text,
	"region" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "download_tasks" ADD CONSTRAINT "download_tasks_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_destinations" ADD CONSTRAINT "storage_destinations_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "download_tasks_account_created_idx" ON "download_tasks" USING btree ("account_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "download_tasks_idempotency_idx" ON "download_tasks" USING btree ("account_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "storage_destinations_account_url_idx" ON "storage_destinations" USING btree ("account_id","url");