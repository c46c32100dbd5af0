// GET /fetch/:id/:filename — the reference's download: 302 to a short-lived
// signed storage URL, for the job's owner only. Any other caller, and any
// unknown id, gets the same 404; a job that has not succeeded gets 409.
import type { HttpRoute } from '../app.js';
import { readCredentials } from '../auth/credentials.js';
import { AppError } from '../errors.js';
import { sendAppError, sendError } from '../http/respond.js';
import type { AppServices } from '../services.js';
import { cleanFileName } from './probe.js';

const PATH = /^\/fetch\/([^/]+)\/([^/]+)\/?$/;

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}

export function fetchDownloadRoute(services: AppServices): HttpRoute {
  return {
    name: 'fetch-download',
    async handle(req, res, url) {
      const match = PATH.exec(url.pathname);
      if (!match) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`, 405, { allow: 'GET, HEAD' });
        return true;
      }
      const credentials = readCredentials({ get: (name) => req.headers[name] as string | undefined });
      const auth = credentials.ok ? await services.accounts.authenticate(credentials) : undefined;
      const job = auth?.ok ? await services.fetchJobs.get(auth.account.id, decode(match[1])) : null;
      if (!job) {
        sendError(res, 'NOT_FOUND', 'Fetch job not found', 404);
        return true;
      }
      if (job.status !== 'SUCCESS') {
        sendError(res, 'CONFLICT', `Fetch job is ${job.status}; the file is available once it is SUCCESS`, 409);
        return true;
      }
      try {
        const location = await services.fetchJobs.signedDownload(job, cleanFileName(decode(match[2])) ?? undefined);
        res.writeHead(302, { location: location!, 'cache-control': 'private, no-store' }).end();
      } catch (err) {
        if (err instanceof AppError) sendAppError(res, err);
        else throw err;
      }
      return true;
    },
  };
}
