// Replaced by the database harness; kept so vitest.config.ts always resolves.
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
