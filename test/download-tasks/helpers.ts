// Shared pieces of the download-task tests: GraphQL calls and polling.
import { gql, type TestGateway } from '../support/gateway.js';

export const TASK_FIELDS = `id uuid state status stage kind createdAt modifiedAt updatedAt accountName apiType attempt bytesReceived bytesTotal
  error { code message } result { url key size contentType contentEncoding etag sha256 }
  input { url country locale expectedMimeTypes storage { type url objectName } storageCompress callbackUrl }`;

export const headers = (key: string) => ({ 'x-api-key': key });

export async function createTask(gw: Pick<TestGateway, 'graphqlUrl'>, key: string, input: Record<string, unknown>) {
  const r = await gql(gw, headers(key), `mutation($input: CreateDownloadTaskInput!) { createDownloadTask(input: $input) { ${TASK_FIELDS} } }`, { input });
  return { ...r, task: r.body.data?.createDownloadTask, error: r.body.errors?.[0] as any };
}

export async function getTask(gw: Pick<TestGateway, 'graphqlUrl'>, key: string, id: string) {
  const r = await gql(gw, headers(key), `query($id: ID!) { downloadTask(id: $id) { ${TASK_FIELDS} } }`, { id });
  return r.body.data?.downloadTask ?? null;
}

export async function waitForTask(gw: Pick<TestGateway, 'graphqlUrl'>, key: string, id: string, done = (t: any) => t.state === 'SUCCESS' || t.state === 'FAILED', timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const task = await getTask(gw, key, id);
    if (task && done(task)) return task;
    if (Date.now() > until) throw new Error(`task ${id} did not get there; last: ${JSON.stringify(task)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function allow(gw: Pick<TestGateway, 'graphqlUrl'>, key: string, url: string, extra: Record<string, unknown> = {}) {
  const r = await gql(gw, headers(key), 'mutation($input: AddStorageDestinationInput!) { addStorageDestination(input: $input) { id url type endpoint region } }', { input: { url, ...extra } });
  if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
  return r.body.data.addStorageDestination;
}
