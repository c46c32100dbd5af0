// The real `work` command (what `media-gateway work` runs) as a child process,
// configured from the environment like production; pino's JSON log lines on
// stdout are its messages (`msg: 'started'` once its workers run).
import { start } from '../../src/app/runtime.js';

await start('work');
