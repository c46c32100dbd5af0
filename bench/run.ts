// `npm run bench`: every speed/memory figure, each beside a baseline run in the
// same process and printed as a ratio. Slow on purpose; never part of `npm test`.
import { benchQueueLatency } from './queue-latency.js';
import { benchStartup, printStartup } from './startup.js';
import { benchStorageMemory, printStorageTable } from './storage-memory.js';
import { benchThumbnails, printThumbnails } from './thumbnails.js';
import { benchUploadMemory, printUploadMemory } from './upload-memory.js';
import { benchFetchIngest, printFetchIngest } from './fetch-ingest.js';
import { benchRecovery, printRecovery } from './recovery.js';
import { benchFanout, printFanout } from './fanout.js';
import { benchDownloadTasks, printDownloadTasks } from './download-tasks.js';

const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

if (wanted('startup')) {
  printStartup(await benchStartup());
}
if (wanted('storage')) {
  printStorageTable(await benchStorageMemory());
}
if (wanted('queue')) {
  const q = await benchQueueLatency(Number(process.env.BENCH_SAMPLES ?? 200));
  console.log('\nqueue and events latency (ms):');
  console.log(JSON.stringify(q, null, 2));
}
if (wanted('upload')) {
  printUploadMemory(await benchUploadMemory(Number(process.env.BENCH_UPLOAD_MB ?? 200)));
}
if (wanted('thumbnails')) {
  printThumbnails(await benchThumbnails());
}
if (wanted('fetch')) {
  printFetchIngest(await benchFetchIngest(Number(process.env.BENCH_FETCH_MB ?? 500)));
}
if (wanted('download')) {
  printDownloadTasks(await benchDownloadTasks(Number(process.env.BENCH_DOWNLOAD_MB ?? 500), Number(process.env.BENCH_DOWNLOAD_TASKS ?? 100)));
}
if (wanted('recovery')) {
  printRecovery(await benchRecovery(Number(process.env.BENCH_RECOVERY_RUNS ?? 5)));
}
if (wanted('fanout')) {
  printFanout(await benchFanout());
}
