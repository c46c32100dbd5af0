import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Structured JSON logs on stdout; request handlers log through child loggers carrying requestId. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: NodeJS.WritableStream): Logger {
  return pino({ level: config.logLevel, base: { service: 'media-gateway' }, timestamp: pino.stdTimeFunctions.isoTime }, destination as never);
}
