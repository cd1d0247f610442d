/**
 * `GET /jobs` and `GET /jobs/:id`: work started as a job (`POST /jobs/verify`), its state (`running`, `done`,
 * `failed`), its progress (tables done of how many) and, once ended, its result or error. Jobs live in this
 * process's memory: a restart forgets them.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { CdcError } from '../../../common/errors.ts';
import type { JobRegistry } from '../jobs.ts';
import { errorResponse } from '../response-schemas.ts';

export const jobView = {
  type: 'object',
  required: ['id', 'kind', 'state', 'startedAt', 'endedAt', 'progress', 'result', 'error'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    state: { type: 'string', enum: ['running', 'done', 'failed'] },
    startedAt: { type: 'string' },
    endedAt: { type: ['string', 'null'] },
    progress: {
      type: 'object',
      required: ['done', 'total'],
      properties: { done: { type: 'integer' }, total: { type: ['integer', 'null'] } },
    },
    // The report of the work (a verify report): its own schema is POST /verify's answer.
    result: {},
    error: {
      type: ['object', 'null'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export function jobRoutes(jobs: JobRegistry) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get(
      '/jobs',
      {
        schema: {
          summary: 'Jobs of this process, running and recently ended',
          tags: ['pipeline'],
          response: {
            200: {
              type: 'object',
              required: ['jobs'],
              properties: { jobs: { type: 'array', items: jobView } },
            },
          },
        },
      },
      () => ({ jobs: jobs.list() }),
    );
    app.get<{ Params: { id: string } }>(
      '/jobs/:id',
      {
        schema: {
          summary: 'A job: its state, progress, and result or error once ended',
          tags: ['pipeline'],
          params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
          response: { 200: jobView, 404: errorResponse },
        },
      },
      (request) => {
        const job = jobs.get(request.params.id);
        if (job === undefined)
          throw new CdcError(
            'NOT_FOUND',
            `no job ${JSON.stringify(request.params.id)} (jobs are forgotten on restart)`,
            {
              job: request.params.id,
            },
          );
        return job;
      },
    );
    done();
  };
  return register;
}
