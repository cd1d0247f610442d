/**
 * The capture error count for a MariaDB source, whose connector reconnects its binlog stream by itself: a
 * KILLed dump thread is counted once (as cdc_capture_errors_total counts it in a pipeline), and the rows
 * written meanwhile still arrive.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { errorMessage } from '../../../common/errors.ts';
import type { CaptureBatch } from '../../../connectors/connector.ts';
import { MysqlConnector } from '../../../connectors/mysql/mysql-connector.ts';
import { CountedConnector } from '../../../services/pipeline/counted-connector.ts';
import { waitFor } from '../../support/wait.ts';
import { adminConnection, connectorConfig, createDatabase } from '../mysql/harness.ts';

let db: Awaited<ReturnType<typeof createDatabase>>;

before(async () => {
  db = await createDatabase('ops_reconnect');
  await db.sql.query('CREATE TABLE k (id INT PRIMARY KEY)');
});

after(async () => {
  await db.drop();
});

test('a binlog stream lost and reconnected by the connector is counted once', async () => {
  const inner = new MysqlConnector(connectorConfig(db.name));
  const counted = new CountedConnector(inner);
  const abort = new AbortController();
  const batches: CaptureBatch[] = [];
  let failure: unknown = null;
  const done = (async () => {
    try {
      for await (const batch of counted.stream({ position: null, state: null }, abort.signal)) {
        batches.push(batch);
        if (batch.commit !== null) await counted.acknowledge(batch.commit);
      }
    } catch (error) {
      failure = error;
    }
  })();
  const ids = (): unknown[] => batches.flatMap((batch) => batch.events.map((event) => event.after?.id));
  const admin = await adminConnection();
  try {
    await waitFor('the connector to stream', () => inner.status().state === 'streaming');
    await db.sql.query('INSERT INTO k VALUES (1)');
    await waitFor('row 1', () => ids().includes(1));
    assert.equal(counted.counts().reconnects, 0);

    const killed = inner.dumpThreadId;
    assert.ok(killed !== null, 'the dump thread id is known while streaming');
    await admin.query('KILL CONNECTION ?', [killed]);
    await db.sql.query('INSERT INTO k VALUES (2)');
    await waitFor('row 2, written while the stream was lost', () => {
      if (failure !== null) throw new Error(`capture failed: ${errorMessage(failure)}`);
      return ids().includes(2);
    });
    assert.equal(counted.counts().reconnects, 1);
    assert.deepEqual(ids(), [1, 2]);
  } finally {
    await admin.end();
    abort.abort();
    await done;
  }
});
