CREATE TABLE "job_leases" (
	"job_id" uuid PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"holder_id" uuid NOT NULL,
	"leased_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lease_holders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"mode" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_multipart_uploads" (
	"location" text NOT NULL,
	"upload_id" text NOT NULL,
	"object_key" text NOT NULL,
	"holder_id" uuid,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"failed_aborts" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "storage_multipart_uploads_location_upload_id_pk" PRIMARY KEY("location","upload_id")
);
--> statement-breakpoint
ALTER TABLE "job_leases" ADD CONSTRAINT "job_leases_holder_id_lease_holders_id_fk" FOREIGN KEY ("holder_id") REFERENCES "public"."lease_holders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_multipart_uploads" ADD CONSTRAINT "storage_multipart_uploads_holder_id_lease_holders_id_fk" FOREIGN KEY ("holder_id") REFERENCES "public"."lease_holders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "job_leases_holder_idx" ON "job_leases" USING btree ("holder_id");--> statement-breakpoint
CREATE INDEX "storage_multipart_uploads_holder_idx" ON "storage_multipart_uploads" USING btree ("holder_id");