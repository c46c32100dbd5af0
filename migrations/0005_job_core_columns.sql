ALTER TABLE "files" ALTER COLUMN "status" SET DEFAULT 'UPLOADING';--> statement-breakpoint
ALTER TABLE "fetch_jobs" ALTER COLUMN "started_at" SET DATA TYPE timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "fetch_jobs" ALTER COLUMN "finished_at" SET DATA TYPE timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "stage" text DEFAULT 'QUEUED' NOT NULL;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "error_code" text;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "bytes_received" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "bytes_total" bigint;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "started_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "finished_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "heartbeat_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "fetch_jobs" ADD COLUMN "stage" text DEFAULT 'QUEUED' NOT NULL;--> statement-breakpoint
ALTER TABLE "fetch_jobs" ADD COLUMN "updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "fetch_jobs" ADD COLUMN "heartbeat_at" timestamp (3) with time zone;--> statement-breakpoint
UPDATE "fetch_jobs" SET "stage" = 'DONE' WHERE "status" IN ('SUCCESS', 'FAILED');--> statement-breakpoint
UPDATE "fetch_jobs" SET "updated_at" = coalesce("finished_at", "started_at", "created_at");--> statement-breakpoint
UPDATE "files" SET "stage" = 'DONE' WHERE "status" IN ('READY', 'FAILED');
