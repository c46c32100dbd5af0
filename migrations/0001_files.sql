CREATE TABLE "files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"content_type" text NOT NULL,
	"declared_size" bigint NOT NULL,
	"file_size" bigint,
	"file_name" text,
	"status" text NOT NULL,
	"failure_reason" text,
	"store" text NOT NULL,
	"object_key" text NOT NULL,
	"thumbnail_key" text,
	"width" integer,
	"height" integer,
	"blurhash" text,
	"dominant_color" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"upload_expires_at" timestamp with time zone,
	CONSTRAINT "files_status_check" CHECK ("files"."status" in ('UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'FAILED'))
);
--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "files_entity_idx" ON "files" USING btree ("account_id","entity_type","entity_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "files_object_key_idx" ON "files" USING btree ("store","object_key");--> statement-breakpoint
CREATE INDEX "files_upload_expiry_idx" ON "files" USING btree ("upload_expires_at") WHERE "files"."status" = 'UPLOADING';