// Every table of every domain, for drizzle-kit and the drizzle client.
// A new domain adds its table module here.
export * from './schema.js';
