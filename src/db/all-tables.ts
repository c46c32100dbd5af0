// Every table of every domain, for drizzle-kit and the drizzle client.
// A new domain adds its table module here.
export * from './schema.js';
export * from '../webhooks/tables.js';
export * from '../files/tables.js';
export * from '../media-items/tables.js';
export * from '../fetch-jobs/tables.js';
