// Every signed link in the schema takes its lifetime the same way:
// `expiresInSeconds`, default one hour, at most seven days (the S3 and GCS
// presigning maximum, so every store honours what the caller asked for).
import { LINK_DEFAULT_SECONDS, LINK_MAX_SECONDS, linkLifetime } from '../storage/keys.js';
import { builder } from './builder.js';

// Link fields check the lifetime with linkLifetime() in their resolver rather than an
// argument validator: a list page resolves a hundred links, and a per-field
// validation wrapper costs more than the check.
export { LINK_DEFAULT_SECONDS, LINK_MAX_SECONDS, linkLifetime };

export const linkLifetimeArgs = builder.args((t) => ({
  expiresInSeconds: t.int({
    required: false,
    defaultValue: LINK_DEFAULT_SECONDS,
    description: `Link lifetime in seconds: default ${LINK_DEFAULT_SECONDS}, at most ${LINK_MAX_SECONDS} (7 days)`,
  }),
}));

