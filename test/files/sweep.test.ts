// The file-sweep job: scheduled by uploads, run by any worker, sweeps what expired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWEEP_WINDOW_SECONDS } from '../../src/files/service.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createUpload, getFile, until } from './helpers.js';

let gw: TestGateway;
let headers: Record<string, string>;

beforeAll(async () => {
  gw = await startTestGateway({ mode: 'all', env: { UPLOAD_TTL_SECONDS: '1' } });
  headers = { 'x-api-key': (await gw.keyFor('files-sweep')).key };
});
afterAll(() => gw?.close());

describe('file-sweep', () => {
  it('uploads schedule one sweep per window, due after they expire; the job fails expired uploads', async () => {
    const a = await createUpload(gw, headers, { contentType: 'image/png', fileSize: 100 });
    await createUpload(gw, headers, { contentType: 'image/png', fileSize: 100 });
    const jobs = await gw.runtime.database.sql<{ due_in: number }[]>`select extract(epoch from start_after - now())::float8 as due_in from pgboss.job where name = 'file-sweep'`;
    expect(jobs).toHaveLength(1);
    const dueIn = jobs[0]!.due_in;
    expect(dueIn).toBeGreaterThan(SWEEP_WINDOW_SECONDS - 5);
    expect(dueIn).toBeLessThanOrEqual(SWEEP_WINDOW_SECONDS + 1 + 1);

    await new Promise((r) => setTimeout(r, 1200));
    // Run the work order now rather than waiting a minute for the scheduled one.
    await gw.runtime.services.queue.send('file-sweep', {});
    const file = await until(async () => (await getFile(gw, headers, a.file.id, 'status failureReason')).body.data.file, (f) => f.status === 'FAILED');
    expect(file.failureReason).toMatch(/expired/);
    const put = await fetch(a.uploadUrl, { method: 'PUT', headers: a.uploadHeaders, body: new Uint8Array(100) });
    expect(put.status).toBeGreaterThanOrEqual(400);
  });
});
