// The temp-file sweeper of every process: at start and then periodically it
// removes local-store temp files and upload spool files that no live process
// is writing: at once when their owner (named in the file) is dead, otherwise
// once untouched for TEMP_MAX_AGE_SECONDS.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, type TestGateway } from '../../support/gateway.js';
import { filesUnder } from '../../support/leftovers.js';
import { until } from '../../webhooks/receiver.js';

let gw: TestGateway;
const dataDir = tempDir();
const tmp = path.join(dataDir, 'objects', '.tmp');
const spool = path.join(dataDir, 'spool');
const deadOwner = randomUUID();
const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);

function write(file: string, bytes: number, modified?: Date): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.alloc(bytes, 1));
  if (modified) fs.utimesSync(file, modified, modified);
}

const names = (dir: string) => filesUnder(dir).map((f) => f.file).sort();

beforeAll(async () => {
  // What a crashed process left: a partial object of a dead owner, stale and fresh files without an owner.
  write(path.join(tmp, `${deadOwner}~${randomUUID()}.data`), 100_000);
  write(path.join(tmp, `${randomUUID()}.data`), 50_000, twoHoursAgo);
  write(path.join(tmp, 'fresh-without-owner.data'), 10);
  write(path.join(spool, 'abandoned-upload'), 70_000, twoHoursAgo);
  write(path.join(spool, 'request-1', 'part-0'), 20_000, twoHoursAgo);
  fs.utimesSync(path.join(spool, 'request-1'), twoHoursAgo, twoHoursAgo);
  write(path.join(spool, 'upload-in-progress'), 10);
  gw = await startTestGateway({ mode: 'serve', dataDir, env: { SWEEP_INTERVAL_SECONDS: '1', TEMP_MAX_AGE_SECONDS: '3600' } });
});
afterAll(() => gw?.close());

describe('temp file sweeper', () => {
  it('removes at start what dead or long-idle writers left, and keeps what may still be written', async () => {
    await until(() => names(tmp).length === 1 && names(spool).length === 1, 10_000, `the start sweep; left ${names(tmp)} ${names(spool)}`);
    expect(names(tmp)).toEqual(['fresh-without-owner.data']);
    expect(names(spool)).toEqual(['upload-in-progress']);
    // An emptied request directory goes too.
    expect(fs.existsSync(path.join(spool, 'request-1'))).toBe(false);
  });

  it("keeps a live process's temp files and sweeps again periodically", async () => {
    const own = path.join(tmp, `${gw.runtime.services.holder.id}~${randomUUID()}.data`);
    write(own, 1000);
    write(path.join(spool, 'abandoned-later'), 1000, twoHoursAgo);
    write(path.join(tmp, `${randomUUID()}~${randomUUID()}.data`), 1000);
    await until(() => !fs.existsSync(path.join(spool, 'abandoned-later')) && names(tmp).length === 2, 10_000, 'a periodic sweep');
    expect(names(tmp)).toEqual([path.basename(own), 'fresh-without-owner.data'].sort());
  });
});
