-- account_usage is kept exact by triggers on the counted tables, inside the
-- transaction that changes them (no scans, every write path counts).
CREATE FUNCTION mg_usage_add(acct uuid, d_media bigint, d_files bigint, d_bytes bigint, d_queued bigint, d_running bigint, d_downloads bigint) RETURNS void AS $$
  INSERT INTO account_usage AS u (account_id, media_items, files, bytes_stored, jobs_queued, jobs_running, downloads_day, downloads_today)
  VALUES (acct, d_media, d_files, d_bytes, d_queued, d_running, CASE WHEN d_downloads <> 0 THEN (now() AT TIME ZONE 'UTC')::date END, greatest(d_downloads, 0))
  ON CONFLICT (account_id) DO UPDATE SET
    media_items = u.media_items + d_media,
    files = u.files + d_files,
    bytes_stored = u.bytes_stored + d_bytes,
    jobs_queued = u.jobs_queued + d_queued,
    jobs_running = u.jobs_running + d_running,
    downloads_day = CASE WHEN d_downloads <> 0 THEN (now() AT TIME ZONE 'UTC')::date ELSE u.downloads_day END,
    downloads_today = CASE
      WHEN d_downloads = 0 THEN u.downloads_today
      WHEN u.downloads_day = (now() AT TIME ZONE 'UTC')::date THEN greatest(u.downloads_today + d_downloads, 0)
      ELSE greatest(d_downloads, 0) END
$$ LANGUAGE sql;
--> statement-breakpoint
CREATE FUNCTION mg_usage_media_items() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM mg_usage_add(NEW.account_id, 1, 0, NEW.media_size, 0, 0, 0);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM mg_usage_add(OLD.account_id, -1, 0, -OLD.media_size, 0, 0, 0);
  ELSIF NEW.times_downloaded IS DISTINCT FROM OLD.times_downloaded OR NEW.media_size IS DISTINCT FROM OLD.media_size THEN
    PERFORM mg_usage_add(NEW.account_id, 0, 0, NEW.media_size - OLD.media_size, 0, 0, NEW.times_downloaded - OLD.times_downloaded);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER media_items_usage AFTER INSERT OR DELETE OR UPDATE OF times_downloaded, media_size ON media_items
  FOR EACH ROW EXECUTE FUNCTION mg_usage_media_items();
--> statement-breakpoint
-- Jobs: which of a table's statuses count as queued and as running.
CREATE FUNCTION mg_usage_job_state(tbl text, status text) RETURNS int[] AS $$
  SELECT CASE
    WHEN (tbl = 'files' AND status = 'UPLOADED') OR (tbl <> 'files' AND status = 'PENDING') THEN ARRAY[1, 0]
    WHEN status IN ('RUNNING', 'IN_PROGRESS', 'PROCESSING') THEN ARRAY[0, 1]
    ELSE ARRAY[0, 0] END
$$ LANGUAGE sql IMMUTABLE;
--> statement-breakpoint
CREATE FUNCTION mg_usage_jobs() RETURNS trigger AS $$
DECLARE
  before int[] := ARRAY[0, 0];
  after int[] := ARRAY[0, 0];
  acct uuid;
  d_files bigint := 0;
  d_bytes bigint := 0;
BEGIN
  IF TG_OP <> 'INSERT' THEN before := mg_usage_job_state(TG_TABLE_NAME, OLD.status); acct := OLD.account_id; END IF;
  IF TG_OP <> 'DELETE' THEN after := mg_usage_job_state(TG_TABLE_NAME, NEW.status); acct := NEW.account_id; END IF;
  IF TG_TABLE_NAME = 'files' THEN
    IF TG_OP = 'INSERT' THEN d_files := 1; d_bytes := coalesce(NEW.file_size, 0);
    ELSIF TG_OP = 'DELETE' THEN d_files := -1; d_bytes := -coalesce(OLD.file_size, 0);
    ELSE d_bytes := coalesce(NEW.file_size, 0) - coalesce(OLD.file_size, 0);
    END IF;
  END IF;
  IF before <> after OR d_files <> 0 OR d_bytes <> 0 THEN
    PERFORM mg_usage_add(acct, 0, d_files, d_bytes, (after[1] - before[1])::bigint, (after[2] - before[2])::bigint, 0);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER fetch_jobs_usage AFTER INSERT OR DELETE OR UPDATE OF status ON fetch_jobs FOR EACH ROW EXECUTE FUNCTION mg_usage_jobs();
--> statement-breakpoint
CREATE TRIGGER download_tasks_usage AFTER INSERT OR DELETE OR UPDATE OF status ON download_tasks FOR EACH ROW EXECUTE FUNCTION mg_usage_jobs();
--> statement-breakpoint
CREATE TRIGGER files_usage AFTER INSERT OR DELETE OR UPDATE OF status, file_size ON files FOR EACH ROW EXECUTE FUNCTION mg_usage_jobs();
--> statement-breakpoint
-- What existed before the triggers.
INSERT INTO account_usage (account_id, media_items, files, bytes_stored, jobs_queued, jobs_running)
SELECT a.id,
  (SELECT count(*) FROM media_items m WHERE m.account_id = a.id),
  (SELECT count(*) FROM files f WHERE f.account_id = a.id),
  coalesce((SELECT sum(media_size) FROM media_items m WHERE m.account_id = a.id), 0) + coalesce((SELECT sum(file_size) FROM files f WHERE f.account_id = a.id), 0),
  (SELECT count(*) FROM fetch_jobs j WHERE j.account_id = a.id AND j.status = 'PENDING') + (SELECT count(*) FROM download_tasks t WHERE t.account_id = a.id AND t.status = 'PENDING') + (SELECT count(*) FROM files f WHERE f.account_id = a.id AND f.status = 'UPLOADED'),
  (SELECT count(*) FROM fetch_jobs j WHERE j.account_id = a.id AND j.status = 'RUNNING') + (SELECT count(*) FROM download_tasks t WHERE t.account_id = a.id AND t.status = 'IN_PROGRESS') + (SELECT count(*) FROM files f WHERE f.account_id = a.id AND f.status = 'PROCESSING')
FROM accounts a
ON CONFLICT (account_id) DO NOTHING;
