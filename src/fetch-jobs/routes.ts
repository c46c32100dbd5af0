// GET /fetch/:id/:filename — the reference's download: 302 to a short-lived
// signed storage URL, for the job's owner only. Any other caller, and any
// unknown id, gets the same 404; a job that has not succeeded gets 409.
import { ConflictError, NotFoundError } from '../platform/errors.js';
import type { Route } from '../platform/http/router.js';
import { cleanFileName } from './probe.js';
import type { FetchJobService } from './service.js';

export function fetchJobRoutes(service: FetchJobService): Route[] {
  return [
    {
      name: 'fetch-download',
      method: 'GET',
      path: '/fetch/:id/:filename',
      auth: 'optional',
      async handle({ account, params, res }) {
        const job = account ? await service.get(account.id, params.id!) : undefined;
        if (!job) throw new NotFoundError('Fetch job');
        if (job.status !== 'SUCCESS') throw new ConflictError(`Fetch job is ${job.status}; the file is available once it is SUCCESS`);
        const location = await service.signedDownload(job, cleanFileName(params.filename!) ?? undefined);
        res.writeHead(302, { location: location!, 'cache-control': 'private, no-store' }).end();
      },
    },
  ];
}
