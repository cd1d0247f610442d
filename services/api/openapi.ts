/**
 * The API's OpenAPI document, generated from the route schemas (@fastify/swagger collects each route as it is
 * registered, so this must be registered before them), served with Swagger UI: `/docs` for people,
 * `/docs/json` and `/docs/yaml` for tools. The UI's files come from the package, so it works without internet.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../cli/version.ts';

export const DOCS_PREFIX = '/docs';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cdc control API',
        description:
          'Status, health, metrics and control of a running pipeline. Errors answer `{"error": {"code", "message"}}` with the status of the code.',
        version: packageVersion(),
      },
      // Every route but the probes (when `api.openProbes`) needs it once `api.tokens` lists any (access.ts).
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'health', description: 'Probes and metrics' },
        { name: 'pipeline', description: 'Connectors, apply workers, snapshots, verify' },
        { name: 'dead letters', description: 'Events a replica could not apply' },
        { name: 'conflicts', description: 'Conflicts recorded by links with conflict handling' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
}
