/** Starting and stopping the API on a real socket (tests use `buildApp` and `inject()` instead). */
import type { FastifyInstance } from 'fastify';
import { asCdcError } from '../../common/errors.ts';
import type { ApiConfig } from '../config/schema.ts';

/** Listens on the configured address and resolves with the URL it is reachable at. */
export async function listenApi(app: FastifyInstance, api: ApiConfig): Promise<string> {
  try {
    return await app.listen({ host: api.host, port: api.port });
  } catch (error) {
    throw asCdcError(error, 'INTERNAL', `control API cannot listen on ${api.host}:${api.port}`, {
      host: api.host,
      port: api.port,
    });
  }
}
