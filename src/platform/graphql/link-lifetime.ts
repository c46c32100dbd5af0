// Every signed link in the schema takes its lifetime the same way:
// `expiresInSeconds`, default one hour, at most seven days (the S3 and GCS
// presigning maximum, so every store honours what the caller asked for).
import { z } from 'zod';
import { LINK_DEFAULT_SECONDS, LINK_MAX_SECONDS } from '../storage/keys.js';
import { builder } from './builder.js';

export { LINK_DEFAULT_SECONDS, LINK_MAX_SECONDS };

export const linkLifetimeArgs = builder.args((t) => ({
  expiresInSeconds: t.int({
    required: false,
    defaultValue: LINK_DEFAULT_SECONDS,
    description: `Link lifetime in seconds: default ${LINK_DEFAULT_SECONDS}, at most ${LINK_MAX_SECONDS} (7 days)`,
    validate: z.number().int().min(1).max(LINK_MAX_SECONDS).nullish(),
  }),
}));
