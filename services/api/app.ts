/**
 * The control and status API as a fastify instance, built apart from `listen` so tests drive it with
 * `inject()`. Each feature is a plugin; one error handler answers for all of them; an onSend hook scrubs
 * every response of secrets (URL passwords, and the configuration's own passwords) as a last line of
 * defence behind the response schemas, because status fields such as `lastError` carry driver messages. The
 * route schemas also make the OpenAPI document served at `/docs` (openapi.ts). Bearer tokens with a scope
 * guard every route (access.ts).
 */
import { readFileSync } from 'node:fs';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { collectSecrets, redactText } from '../config/redact.ts';
import type { PipelineConfig } from '../config/schema.ts';
import type { CdcMetrics } from '../metrics/metrics.ts';
import { installAccessControl, type ApiAccess } from './access.ts';
import { installErrorHandler } from './error-handler.ts';
import { JobRegistry } from './jobs.ts';
import { jobRoutes } from './routes/jobs.ts';
import { registerOpenApi } from './openapi.ts';
import type { DeadLetterControl } from '../dlq/dlq-control.ts';
import type { ConflictLister } from '../pipeline/conflict-list.ts';
import { configRoutes } from './routes/config.ts';
import { conflictRoutes } from './routes/conflicts.ts';
import { dlqRoutes } from './routes/dlq.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { pauseRoutes } from './routes/pause.ts';
import { resnapshotRoutes } from './routes/resnapshot.ts';
import { replicaRoutes } from './routes/replicas.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { statusRoutes } from './routes/status.ts';
import { verifyRoutes } from './routes/verify.ts';
import { eventRoutes } from './routes/events.ts';
import { uiRoutes } from './routes/ui.ts';
import { pipelineGraph } from './pipeline-graph.ts';
import type { StatusProvider } from './status-types.ts';

export interface AppOptions {
  readonly status: StatusProvider;
  readonly metrics: CdcMetrics;
  readonly logger?: Logger;
  /** The running configuration: served (redacted) at `GET /config`, and its passwords scrubbed from every answer. */
  readonly config?: PipelineConfig;
  /** Dead letters of the pipeline's replicas (`/dlq`); absent where the process cannot reach them. */
  readonly dlq?: DeadLetterControl;
  /** Conflicts recorded in the targets of the pipeline's replicas (`/conflicts`). */
  readonly conflicts?: ConflictLister;
  /** The bearer tokens that may call the API; absent or without tokens, the API is open. */
  readonly access?: ApiAccess;
  /** Further values that must never appear in a response. */
  readonly secrets?: readonly string[];
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // Typed as fastify's logger interface so the instance keeps fastify's default logger type parameter.
  const loggerInstance: FastifyBaseLogger = (options.logger ?? silentLogger).child({ component: 'api' });
  const tls = options.config?.api.tls;
  const app = fastify({
    // Files were checked at validation; read here, at start-up, so a replaced certificate needs a restart.
    ...(tls === undefined
      ? {}
      : { https: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }),
    loggerInstance,
    // Scrapes and probes every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  });
  const secrets = [...(options.secrets ?? []), ...(options.config ? collectSecrets(options.config) : [])];

  installErrorHandler(app);
  // Before any route, so that every one of them (the OpenAPI document's too) is behind it.
  installAccessControl(app, options.access ?? options.config?.api ?? { tokens: [], openProbes: true });
  await registerOpenApi(app);
  app.addHook('onSend', async (_request, _reply, payload) =>
    typeof payload === 'string' ? redactText(payload, secrets) : payload,
  );

  await app.register(healthRoutes(options.status));
  await app.register(statusRoutes(options.status));
  await app.register(metricsRoutes(options.status, options.metrics));
  await app.register(snapshotRoutes(options.status));
  await app.register(pauseRoutes(options.status));
  await app.register(resnapshotRoutes(options.status));
  await app.register(replicaRoutes(options.status));
  const verifyJobs = new JobRegistry('verify', options.config?.api.verifyConcurrency ?? 1);
  await app.register(verifyRoutes(options.status, verifyJobs));
  await app.register(jobRoutes(verifyJobs));
  await app.register(
    eventRoutes({
      status: options.status,
      metrics: options.metrics,
      graph: options.config ? pipelineGraph(options.config) : { nodes: [], edges: [] },
      redact: (text) => redactText(text, secrets),
    }),
  );
  await app.register(uiRoutes());
  if (options.config) await app.register(configRoutes(options.config));
  if (options.dlq) await app.register(dlqRoutes(options.dlq));
  if (options.conflicts) await app.register(conflictRoutes(options.conflicts));
  return app;
}
