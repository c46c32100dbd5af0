CREATE TABLE "media_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"object_key" text NOT NULL,
	"store_id" text NOT NULL,
	"storage_location" text NOT NULL,
	"original_file_name" text NOT NULL,
	"mime_type" text NOT NULL,
	"media_size" bigint NOT NULL,
	"etag" text NOT NULL,
	"sha256" text NOT NULL,
	"width" integer,
	"height" integer,
	"thumbnail_key" text,
	"title" text,
	"description" text,
	"metadata_primary" text,
	"metadata_secondary" text,
	"public" boolean DEFAULT false NOT NULL,
	"max_downloads_allowed" integer,
	"times_downloaded" integer DEFAULT 0 NOT NULL,
	"time_created" timestamp with time zone DEFAULT now() NOT NULL,
	"time_last_updated" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "media_items" ADD CONSTRAINT "media_items_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "media_items_account_created_idx" ON "media_items" USING btree ("account_id","time_created","id");