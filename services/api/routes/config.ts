/** `GET /config`: the running configuration, with every secret masked. */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import { redactConfig } from '../../config/redact.ts';
import type { PipelineConfig } from '../../config/schema.ts';

export function configRoutes(config: PipelineConfig) {
  const shown = redactConfig(config);
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.get(
      '/config',
      {
        schema: {
          summary: 'The running configuration, secrets removed',
          tags: ['pipeline'],
          response: { 200: { type: 'object', additionalProperties: true } },
        },
      },
      () => shown,
    );
    done();
  };
  return register;
}
