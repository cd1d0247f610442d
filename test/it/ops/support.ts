/**
 * What an operator reads from a running pipeline, over HTTP as they would: /metrics values by name and
 * labels, and a PostgreSQL → PostgreSQL pipeline on the real stack to read them from.
 */
import { parseConfig } from '../../../services/config/load.ts';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline, type Role, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import type { TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';

/** The value of the series `name` whose labels include every one of `labels`; null when there is none. */
export async function metric(
  apiUrl: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number | null> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const present = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => present.includes(`${key}="${value}"`)))
      return Number(match[3]);
  }
  return null;
}

export async function metricsText(apiUrl: string): Promise<string> {
  return (await fetch(`${apiUrl}/metrics`)).text();
}

export async function post(apiUrl: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${apiUrl}${path}`, { method: 'POST' });
  return { status: response.status, body: await response.json() };
}

export interface PgPipelineOptions {
  readonly name: string;
  readonly slot: string;
  readonly roles?: readonly Role[];
  /** Fields added to the source's configuration. */
  readonly source?: Readonly<Record<string, unknown>>;
  /** Fields added to the replica's configuration. */
  readonly replica?: Readonly<Record<string, unknown>>;
}

/** Source `src` → replica `dst`, both PostgreSQL, API on a free port, logs silent unless CDC_TEST_LOG. */
export function startPgPipeline(
  source: TestDatabase,
  replica: TestDatabase,
  options: PgPipelineOptions,
): Promise<RunningPipeline> {
  const config = parseConfig(
    JSON.stringify({
      name: options.name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: options.name, sessionTimeoutMs: 6000 },
      sources: [
        {
          name: 'src',
          kind: 'postgres',
          url: source.url,
          slot: options.slot,
          heartbeatIntervalMs: 500,
          ...options.source,
        },
      ],
      // Replication origins are cluster-wide: one of its own, so no other test's replica holds it.
      replicas: [
        {
          name: 'dst',
          source: 'src',
          kind: 'postgres',
          url: replica.url,
          originName: uniqueName('origin'),
          ...options.replica,
        },
      ],
      api: { port: 0 },
    }),
    'json',
  );
  return startPipeline(
    config,
    createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' }),
    options.roles ? { roles: options.roles } : {},
  );
}

export function pipelineName(prefix: string): string {
  return uniqueName(prefix).replaceAll('_', '-');
}
