/**
 * What the tests of a secured cluster share: the broker (test/support/secure-kafka.ts), a pipeline of one
 * PostgreSQL source and replica whose `kafka` section the test writes, and every log line the pipeline wrote
 * (to look for the password in).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { uniqueName } from '../../support/stack.ts';

export const TABLE = 'CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)';

export interface SecuredPipeline {
  readonly pipeline: RunningPipeline;
  readonly source: TestDatabase;
  readonly replica: TestDatabase;
  /** Every line logged so far, as written. */
  logText(): string;
  stop(): Promise<void>;
}

/**
 * Starts source → Kafka → replica with `kafka` (brokers, tls, sasl; `${NAME}` references read from `env`) on
 * fresh databases holding TABLE. The topic prefix is new, so nothing of another run is read. `beforeStart`
 * sees the configuration first (to grant ACLs for its prefix, say).
 */
export async function startSecuredPipeline(
  kafka: Record<string, unknown>,
  env: Record<string, string> = {},
  options: { readonly beforeStart?: (config: PipelineConfig) => Promise<void> } = {},
): Promise<SecuredPipeline> {
  const name = uniqueName('secure').replaceAll('_', '-');
  const source = await createDatabase('secure_src');
  const replica = await createDatabase('secure_dst');
  await source.query(TABLE);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const config = parseConfig(
    JSON.stringify({
      name,
      kafka: { ...kafka, topicPrefix: name },
      sources: [
        {
          name: 'src',
          kind: 'postgres',
          url: source.url,
          slot: uniqueName('slot'),
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [{ name: 'dst', source: 'src', kind: 'postgres', url: replica.url }],
      api: { port: 0 },
    }),
    'json',
    { env },
  );
  await options.beforeStart?.(config);
  const pipeline = await startPipeline(config, pino({ level: 'debug' }, sink));
  return {
    pipeline,
    source,
    replica,
    logText: () => lines.join(''),
    async stop() {
      await pipeline.stop();
      await source.drop();
      await replica.drop();
    },
  };
}
