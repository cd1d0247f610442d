/**
 * `GET /events`: server-sent events for the dashboard (/ui): every second an event `status` whose data is the
 * pipeline's graph, every connector and worker as `/status` shows them, conflicts per replica, and the scope
 * the caller holds (so the page hides what it may not do). Read scope, like `/status`. The stream bypasses
 * fastify's send path, so each event is serialized through its schema (no field outside it goes out) and
 * scrubbed of secrets here, as onSend does for every other answer.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { CdcMetrics } from '../../metrics/metrics.ts';
import { callerScope } from '../access.ts';
import type { PipelineGraph } from '../pipeline-graph.ts';
import { connectorStatus, workerStatus } from '../response-schemas.ts';
import type { StatusProvider } from '../status-types.ts';

export const EVENT_INTERVAL_MS = 1_000;

const graphSchema = {
  type: 'object',
  required: ['nodes', 'edges'],
  properties: {
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'label', 'kind', 'region', 'sources'],
        properties: {
          id: { type: 'string' },
          label: { type: 'string' },
          kind: { type: 'string' },
          region: { type: ['string', 'null'] },
          sources: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['replica', 'source', 'from', 'to'],
        properties: {
          replica: { type: 'string' },
          source: { type: 'string' },
          from: { type: 'string' },
          to: { type: 'string' },
        },
      },
    },
  },
} as const;

export const dashboardEvent = {
  type: 'object',
  required: ['time', 'scope', 'graph', 'connectors', 'workers', 'conflicts'],
  properties: {
    time: { type: 'string' },
    scope: { type: 'string', enum: ['open', 'read', 'admin'] },
    graph: graphSchema,
    connectors: { type: 'array', items: connectorStatus },
    workers: { type: 'array', items: workerStatus },
    conflicts: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

export interface EventsOptions {
  readonly status: StatusProvider;
  readonly metrics: CdcMetrics;
  readonly graph: PipelineGraph;
  readonly redact: (text: string) => string;
}

async function conflictsByReplica(metrics: CdcMetrics): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { labels, value } of (await metrics.conflicts.get()).values) {
    const replica = String(labels.replica ?? '');
    counts[replica] = (counts[replica] ?? 0) + value;
  }
  return counts;
}

export function eventRoutes(options: EventsOptions) {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    const open = new Set<ServerResponse>();
    // A stream never goes idle, so close() would wait for every dashboard to go away: end them first.
    app.addHook('preClose', (hookDone) => {
      for (const response of open) response.end();
      hookDone();
    });
    app.get<{ Querystring: { count?: number } }>(
      '/events',
      {
        schema: {
          summary: 'Server-sent events: the status, graph and conflicts of the pipeline, every second',
          tags: ['pipeline'],
          // A script wanting a few samples (`curl '/events?count=1'`) gets them and the stream ends.
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { count: { type: 'integer', minimum: 1 } },
          },
          response: {
            200: {
              description: 'one `status` event a second',
              content: { 'text/event-stream': { schema: dashboardEvent } },
            },
          },
        },
      },
      (request, reply) => {
        const serialize = reply.compileSerializationSchema(dashboardEvent);
        const scope = callerScope(request);
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        open.add(raw);
        const limit = request.query.count ?? Infinity;
        let sent = 0;
        let sending = false;
        const send = async (): Promise<void> => {
          if (sending || raw.writableEnded) return; // a slow client: skip a beat rather than queue
          sending = true;
          try {
            const event = {
              time: new Date().toISOString(),
              scope,
              graph: options.graph,
              connectors: options.status.connectors(),
              workers: options.status.workers(),
              conflicts: await conflictsByReplica(options.metrics),
            };
            raw.write(`event: status\ndata: ${options.redact(serialize(event))}\n\n`);
            sent += 1;
            if (sent >= limit) raw.end();
          } catch (error) {
            request.log.warn({ err: error }, 'dashboard event not sent');
          } finally {
            sending = false;
          }
        };
        void send();
        const timer = setInterval(() => void send(), EVENT_INTERVAL_MS);
        raw.on('close', () => {
          clearInterval(timer);
          open.delete(raw);
        });
      },
    );
    done();
  };
  return register;
}
