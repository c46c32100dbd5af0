// A process with the unhandled-rejection guard that then drops a rejection on
// the floor; reports whether it is still alive and what was counted.
import { Counter, Registry } from 'prom-client';
import { createLogger } from '../../src/platform/logger.js';
import { guardUnhandledRejections } from '../../src/platform/process-guard.js';

const counter = new Counter({ name: 'rejections', help: 'test', registers: [new Registry()] });
guardUnhandledRejections(createLogger({ logLevel: 'error' }, process.stderr), counter);
void Promise.reject(new Error('nobody handles me'));
setTimeout(async () => {
  process.stdout.write(JSON.stringify({ event: 'alive', counted: (await counter.get()).values[0]?.value ?? 0 }) + '\n');
  process.exit(0);
}, 200);
