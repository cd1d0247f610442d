import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { Capture, connectorConfig, createSourceDb, type SourceDb } from './pg-fixture.ts';

describe('PostgreSQL replica identity and unchanged TOAST', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('pgident');
  });
  after(async () => {
    await db.drop();
  });

  test('an unchanged TOAST column is listed in unchanged and left out of after (REPLICA IDENTITY DEFAULT)', async () => {
    await db.sql('CREATE TABLE docs (id int PRIMARY KEY, title text, body text)');
    await db.sql(`ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL`);
    const body = 'x'.repeat(20_000);
    await db.sql('INSERT INTO docs VALUES (1, $1, $2)', ['first', body]);
    const capture = new Capture(new PostgresConnector(connectorConfig(db, { tables: ['public.docs'] })));
    try {
      await capture.waitStreaming();
      await db.sql(`UPDATE docs SET title = 'second' WHERE id = 1`);
      const [update] = await capture.waitForEvents(1, 'docs');
      assert.equal(update?.op, 'u');
      if (update?.op !== 'u') return;
      assert.deepEqual(update.after, { id: 1, title: 'second' });
      assert.deepEqual(update.unchanged, ['body']);
      assert.equal(update.before, null, 'key unchanged: no old image');
      assert.equal(update.table.beforeImage, 'key');
    } finally {
      await capture.stop();
    }
  });

  test('REPLICA IDENTITY FULL gives the whole old row; USING INDEX keys on the index columns', async () => {
    await db.sql('CREATE TABLE full_t (id int PRIMARY KEY, v text)');
    await db.sql('ALTER TABLE full_t REPLICA IDENTITY FULL');
    await db.sql('CREATE TABLE idx_t (a int NOT NULL, b int NOT NULL, v text)');
    await db.sql('CREATE UNIQUE INDEX idx_t_ab ON idx_t (b, a)');
    await db.sql('ALTER TABLE idx_t REPLICA IDENTITY USING INDEX idx_t_ab');
    await db.sql(`INSERT INTO full_t VALUES (1, 'old')`);
    await db.sql(`INSERT INTO idx_t VALUES (1, 2, 'old')`);
    const capture = new Capture(
      new PostgresConnector(connectorConfig(db, { tables: ['public.full_t', 'public.idx_t'] })),
    );
    try {
      await capture.waitStreaming();
      await db.sql(`UPDATE full_t SET v = 'new' WHERE id = 1`);
      await db.sql(`DELETE FROM idx_t WHERE a = 1`);
      const [update] = await capture.waitForEvents(1, 'full_t');
      const [remove] = await capture.waitForEvents(1, 'idx_t');
      assert.deepEqual(update?.before, { id: 1, v: 'old' });
      assert.equal(update?.table.beforeImage, 'full');
      assert.deepEqual(update?.table.key, ['id']);
      assert.deepEqual(remove?.before, { a: 1, b: 2 });
      assert.deepEqual(remove?.table.key, ['b', 'a']);
      assert.equal(remove?.table.beforeImage, 'key');
    } finally {
      await capture.stop();
    }
  });

  test('tables whose updates and deletes cannot be identified are captured (inserts flow), named with the fix in status and log, and keep the other tables flowing', async () => {
    await db.sql('CREATE TABLE nothing_t (id int PRIMARY KEY)');
    await db.sql('ALTER TABLE nothing_t REPLICA IDENTITY NOTHING');
    await db.sql('CREATE TABLE nokey_t (v int)');
    await db.sql('CREATE TABLE keyed_t (id int PRIMARY KEY)');
    const connector = new PostgresConnector(connectorConfig(db, { tables: ['public.*'] }));
    const capture = new Capture(connector);
    try {
      await capture.waitStreaming();
      const warnings = connector.status().warnings ?? [];
      assert.equal(warnings.length, 2, JSON.stringify(warnings));
      assert.match(
        warnings.join('\n'),
        /"public"\."nothing_t" has REPLICA IDENTITY NOTHING.*REPLICA IDENTITY FULL/,
      );
      assert.match(warnings.join('\n'), /"public"\."nokey_t" has no primary key.*add a primary key/);
      await db.sql('INSERT INTO nokey_t VALUES (7)');
      await db.sql('INSERT INTO nothing_t VALUES (8)');
      await db.sql('INSERT INTO keyed_t VALUES (9)');
      assert.deepEqual((await capture.waitForEvents(1, 'nokey_t'))[0]?.after, { v: 7 });
      assert.deepEqual((await capture.waitForEvents(1, 'nothing_t'))[0]?.after, { id: 8 });
      assert.deepEqual((await capture.waitForEvents(1, 'keyed_t'))[0]?.after, { id: 9 });
      // PostgreSQL itself refuses what could not be captured: nothing goes missing from the stream.
      await assert.rejects(
        db.sql('UPDATE nokey_t SET v = 8'),
        /does not have a replica identity and publishes updates/,
      );
      await assert.rejects(
        db.sql('DELETE FROM nothing_t'),
        /does not have a replica identity and publishes deletes/,
      );
      // The same table created while streaming is treated the same way once the stream describes it.
      await db.sql('CREATE TABLE late_t (v int)');
      await db.sql('INSERT INTO late_t VALUES (1)');
      assert.deepEqual((await capture.waitForEvents(1, 'late_t'))[0]?.after, { v: 1 });
      assert.match((connector.status().warnings ?? []).join('\n'), /"public"\."late_t" has no primary key/);
      // Fixed while streaming: the stream describes the table again with its key, and the warning goes.
      await db.sql('ALTER TABLE late_t ADD PRIMARY KEY (v)');
      await db.sql('INSERT INTO late_t VALUES (2)');
      const keyed = (await capture.waitForEvents(2, 'late_t'))[1];
      assert.deepEqual(keyed?.table.key, ['v']);
      assert.doesNotMatch((connector.status().warnings ?? []).join('\n'), /late_t/);
    } finally {
      await capture.stop();
    }
  });

  test('a keyless table is accepted when the publication publishes only inserts', async () => {
    await db.sql('CREATE TABLE log_t (v int)');
    await db.sql(`CREATE PUBLICATION pub_inserts_only FOR TABLE log_t WITH (publish = 'insert')`);
    const capture = new Capture(
      new PostgresConnector(
        connectorConfig(db, {
          tables: ['public.log_t'],
          publication: 'pub_inserts_only',
          createPublication: false,
        }),
      ),
    );
    try {
      await capture.waitStreaming();
      await db.sql('INSERT INTO log_t VALUES (7)');
      const [insert] = await capture.waitForEvents(1, 'log_t');
      assert.deepEqual(insert?.after, { v: 7 });
      assert.deepEqual(insert?.table.key, []);
    } finally {
      await capture.stop();
    }
  });
});
