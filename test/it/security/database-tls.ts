/**
 * What the TLS database tests share (postgres-tls.test.ts, mariadb-tls.test.ts): a server of their own that
 * takes TLS (test/support/tls-postgres.ts, tls-mariadb.ts) holding a source and a replica database, a pipeline
 * through the stack's Kafka between them, and two scenarios: replicating over TLS (the replica equals the
 * source, and a verify run over TLS says so), and a connection refused for a reason of TLS (capture, apply and
 * verify each stop with an error naming the server and the cause, and the password shows in no error and no
 * log line).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CdcError } from '../../../common/errors.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { verifyReplica } from '../../../services/verify/verify-replica.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

/** A source and a replica database on a server that takes TLS. */
export interface TlsDatabases {
  readonly kind: 'postgres' | 'mariadb';
  /** The password in the URLs, which no error and no log line may show. */
  readonly password: string;
  readonly sourceUrl: string;
  readonly replicaUrl: string;
  /** Settings of the source besides its name, kind and URL. */
  readonly sourceSettings: Record<string, unknown>;
  /** Runs statements on the source database as the administrator. */
  writeSource(sql: string): Promise<void>;
  /** The rows of `items`, as text to compare. */
  rows(side: 'source' | 'replica'): Promise<string>;
}

function configOf(databases: TlsDatabases, sourceUrl: string, replicaUrl: string): PipelineConfig {
  const name = uniqueName('dbtls').replaceAll('_', '-');
  return parseConfig(
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
      sources: [
        {
          ...databases.sourceSettings,
          name: 'src',
          kind: databases.kind,
          url: sourceUrl,
          snapshotChunkRows: 100,
          heartbeatIntervalMs: 500,
        },
      ],
      replicas: [{ name: 'copy', source: 'src', kind: databases.kind, url: replicaUrl, onError: 'stop' }],
    }),
    'json',
  );
}

/** Starts the pipeline with every log line kept, written as is (nothing scrubbed), to look for the password. */
async function start(config: PipelineConfig) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const pipeline = await startPipeline(config, pino({ level: 'debug' }, sink), { api: false });
  const states = () =>
    [...pipeline.connectors(), ...pipeline.workers()]
      .map((part) => `${part.name} ${part.state} ${part.lastError ?? ''}`)
      .join('; ');
  return { pipeline, logText: () => lines.join(''), states };
}

/** Snapshot and streamed changes reach the replica over TLS, and a verify run over TLS finds it equal. */
export async function replicatesOverTls(databases: TlsDatabases): Promise<void> {
  const config = configOf(databases, databases.sourceUrl, databases.replicaUrl);
  const run = await start(config);
  try {
    const equal = async (when: string) => {
      let seen = '';
      await waitFor(
        `the replica to equal the source ${when}`,
        async () => {
          seen = await databases.rows('replica').catch((error: unknown) => String(error));
          return seen === (await databases.rows('source'));
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      ).catch(() => assert.fail(`${when}: the replica holds ${seen.slice(0, 200)}; ${run.states()}`));
    };
    await equal('after the snapshot');
    for (let round = 0; round < 10; round++) {
      await databases.writeSource(`INSERT INTO items VALUES (${1000 + round}, 'new ${round}', ${round})`);
      await databases.writeSource(`UPDATE items SET qty = qty + 1 WHERE id % 10 = ${round}`);
      await databases.writeSource(`DELETE FROM items WHERE id = ${round * 7 + 1}`);
    }
    await equal('after streaming');
    const report = await verifyReplica(config, { replica: 'copy', chunkRows: 100 });
    assert.deepEqual(report.failures, []);
    assert.equal(report.equal, true);
    assert.equal(report.tables[0]?.sourceRows, report.tables[0]?.targetRows);
    assert.ok(!run.logText().includes(databases.password), 'no log line holds the password');
  } finally {
    await run.pipeline.stop();
  }
}

/**
 * With `query` in both URLs (on `host`), capture, apply and verify are refused: each error matches every one of
 * `expected`, none holds the password, and neither does any log line. Not retried: the parts end failed.
 */
export async function refusedOverTls(
  databases: TlsDatabases,
  urls: { readonly source: string; readonly replica: string },
  expected: readonly RegExp[],
): Promise<void> {
  const config = configOf(databases, urls.source, urls.replica);
  const run = await start(config);
  try {
    await waitFor(
      'capture and apply to fail',
      () => run.pipeline.connectors()[0]?.state === 'failed' && run.pipeline.workers()[0]?.state === 'failed',
      { timeoutMs: 60_000 },
    ).catch(() => assert.fail(`capture and apply did not fail: ${run.states()}`));
    const verified = await verifyReplica(config, { replica: 'copy' }).then(
      () => assert.fail('verify connected'),
      (error: unknown) => error,
    );
    assert.ok(verified instanceof CdcError);
    assert.match(verified.code, /^DATABASE_(TLS|AUTH)_FAILED$/);
    const errors = [
      run.pipeline.connectors()[0]?.lastError ?? '',
      run.pipeline.workers()[0]?.lastError ?? '',
      verified.message,
    ];
    for (const error of errors) {
      for (const pattern of expected) assert.match(error, pattern);
      assert.ok(!error.includes(databases.password), `the error holds no password: ${error}`);
    }
    assert.ok(!run.logText().includes(databases.password), 'no log line holds the password');
  } finally {
    await run.pipeline.stop();
  }
}
