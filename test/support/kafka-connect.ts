/**
 * Kafka Connect standalone (the runtime stack/install.sh fetches beside Kafka) running Debezium's JDBC sink
 * connector, a consumer we did not write, for tests: JsonConverter with schemas.enable=true, read_committed,
 * its REST port from CDC_CONNECT_PORT. Stopped (and its files removed) by `stop()`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './child-process.ts';
import { waitFor } from './wait.ts';

const KAFKA_DIR = join(REPO_ROOT, 'stack/.cache', `kafka-${process.env.CDC_KAFKA_VERSION ?? '4.3.1'}`);
const PLUGINS = join(REPO_ROOT, 'stack/.cache/connect-plugins');

export interface RunningConnect {
  /** Output so far, for failure messages. */
  output(): string;
  /** The connector's task states from the REST API. */
  taskStates(): Promise<string[]>;
  stop(): Promise<void>;
}

function properties(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key}=${value.replaceAll('\\', '\\\\')}`)
    .join('\n');
}

export async function startJdbcSink(options: {
  readonly brokers: readonly string[];
  readonly topics: readonly string[];
  readonly jdbcUrl: string;
  readonly user: string;
  readonly extra?: Record<string, string>;
}): Promise<RunningConnect> {
  const port = process.env.CDC_CONNECT_PORT ?? '58083';
  const dir = mkdtempSync(join(tmpdir(), 'cdc-connect-'));
  const worker = join(dir, 'worker.properties');
  const connector = join(dir, 'jdbc-sink.properties');
  writeFileSync(
    worker,
    properties({
      'bootstrap.servers': options.brokers.join(','),
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'true',
      'value.converter.schemas.enable': 'true',
      'offset.storage.file.filename': join(dir, 'offsets'),
      'plugin.path': PLUGINS,
      listeners: `http://127.0.0.1:${port}`,
      'consumer.isolation.level': 'read_committed',
      'consumer.auto.offset.reset': 'earliest',
    }),
  );
  writeFileSync(
    connector,
    properties({
      name: 'jdbc-sink',
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max': '1',
      topics: options.topics.join(','),
      'connection.url': options.jdbcUrl,
      'connection.username': options.user,
      'connection.password': '',
      'insert.mode': 'upsert',
      'primary.key.mode': 'record_key',
      'delete.enabled': 'true',
      'schema.evolution': 'none',
      ...options.extra,
    }),
  );
  let output = '';
  const child = spawn(
    'java',
    [
      '-Xmx384m',
      '-cp',
      `${join(KAFKA_DIR, 'mirror-libs')}/*`,
      'org.apache.kafka.connect.cli.ConnectStandalone',
      worker,
      connector,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const running: RunningConnect = {
    output: () => output,
    async taskStates() {
      const response = await fetch(`http://127.0.0.1:${port}/connectors/jdbc-sink/status`);
      if (!response.ok) return [];
      const body = (await response.json()) as { tasks: { state: string; trace?: string }[] };
      return body.tasks.map((task) => (task.trace ? `${task.state}: ${task.trace}` : task.state));
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      'Kafka Connect to run the JDBC sink task',
      async () => (await running.taskStates().catch((): string[] => [])).includes('RUNNING'),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  } catch (error) {
    await running.stop();
    throw new Error(`${(error as Error).message}\n${output.slice(-5_000)}`, { cause: error });
  }
  return running;
}
