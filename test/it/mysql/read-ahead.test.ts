import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase } from './harness.ts';
import { waitFor } from '../../support/wait.ts';
import { stack } from '../../support/stack.ts';
import { BinlogClient, READ_AHEAD_BYTES } from '../../../connectors/mysql/replication/binlog-client.ts';
import { currentGtidPosition } from '../../../connectors/mysql/replication/source-checks.ts';
import { mysqlConnectOptions } from '../../../common/connect/mysql-url.ts';

/** Rows of about 250 binlog bytes each: several times the read-ahead bound in all. */
const ROWS = Math.ceil((4 * READ_AHEAD_BYTES) / 250);
/** A paused socket still delivers the rest of the chunk it was reading (at most 64 KiB) and one event. */
const SLACK_BYTES = 256 * 1024;

void describe('binlog read-ahead', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let from: string;

  before(async () => {
    db = await createDatabase('mysql_readahead');
    await db.sql.query('CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(255) NOT NULL)');
    from = await currentGtidPosition(db.sql, 'mariadb');
    for (let start = 1; start <= ROWS; start += 2000) {
      const values: string[] = [];
      for (let id = start; id < start + 2000 && id <= ROWS; id++) values.push(`(${id}, REPEAT('x', 240))`);
      await db.sql.query(`INSERT INTO big VALUES ${values.join(',')}`);
    }
  });
  after(async () => {
    await db.drop();
  });

  void test('a consumer that stops taking messages holds the socket at the byte bound; nothing is lost after', async () => {
    const client = new BinlogClient({
      ...mysqlConnectOptions(stack.mariadbUrl),
      serverId: 930_000 + Math.floor(Math.random() * 10_000),
      gtidSet: from,
      databases: [db.name],
    });
    const abort = new AbortController();
    await client.start();
    try {
      const messages = client.messages(abort.signal)[Symbol.asyncIterator]();
      const ids: number[] = [];
      const take = async (): Promise<void> => {
        const next = await messages.next();
        assert.ok(!next.done, 'the stream goes on');
        const message = next.value;
        if (message.kind === 'rows')
          for (const row of message.rows) ids.push(Number((row as { id: unknown }).id));
      };
      await take();
      // The server has far more to send than the bound; without backpressure all of it would be queued.
      await waitFor('reading paused at the read-ahead bound', () => client.paused);
      assert.ok(
        client.backlogBytes < READ_AHEAD_BYTES + SLACK_BYTES,
        `queued ${client.backlogBytes} binlog bytes, bound ${READ_AHEAD_BYTES}`,
      );
      while (ids.length < ROWS) await take();
      assert.equal(ids.length, ROWS);
      assert.ok(
        ids.every((id, i) => id === i + 1),
        'every row once, in order',
      );
      assert.equal(client.paused, false, 'reading resumed once the queue drained');
    } finally {
      abort.abort();
      client.stop();
    }
  });
});
