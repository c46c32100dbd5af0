// Shared pieces of the fetch-job tests: GraphQL calls, polling, storage listing.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { gql, type TestGateway } from '../support/gateway.js';

export const JOB_FIELDS = `id uuid url status error { code message } createdAt startedAt finishedAt bytesReceived bytesTotal attempts
  fileName webhookUrl downloadUrl metadata { extractor mimeType size fileName title width height verdict }
  mediaItem { uuid mimeType mediaSize originalFileName sha256 }`;

export const headers = (key: string) => ({ 'x-api-key': key });

export async function createJob(gw: TestGateway, key: string, input: Record<string, unknown>) {
  const r = await gql(gw, headers(key), `mutation($input: CreateFetchJobInput!) { createFetchJob(input: $input) { ${JOB_FIELDS} } }`, { input });
  return { ...r, job: r.body.data?.createFetchJob };
}

export async function getJob(gw: TestGateway, key: string, id: string) {
  const r = await gql(gw, headers(key), `query($id: ID!) { fetchJob(id: $id) { ${JOB_FIELDS} } }`, { id });
  return r.body.data?.fetchJob ?? null;
}

/** Polls until the job satisfies `done` (default: SUCCESS or FAILED). */
export async function waitForJob(gw: TestGateway, key: string, id: string, done = (j: any) => j.status === 'SUCCESS' || j.status === 'FAILED', timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(gw, key, id);
    if (job && done(job)) return job;
    if (Date.now() > until) throw new Error(`job ${id} did not get there; last: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file under the gateway's local store (data/…, meta/…; .tmp included, so half-written uploads count too). */
export function storedObjects(gw: TestGateway): string[] {
  const root = gw.config.storageUrl.replace(/^file:\/\//, '');
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out;
}

export async function expectFailed(gw: TestGateway, key: string, input: Record<string, unknown>, code: string) {
  const { job } = await createJob(gw, key, input);
  expect(job?.status).toBe('PENDING');
  const done = await waitForJob(gw, key, job.id);
  expect(done.status).toBe('FAILED');
  expect(done.error?.code).toBe(code);
  expect(done.error?.message).toBeTruthy();
  expect(done.mediaItem).toBeNull();
  expect(done.downloadUrl).toBeNull();
  return done;
}
