/**
 * MySQL/MariaDB-dialect change events applied to MariaDB: source column types kept verbatim, values exact
 * (unsigned bigint beyond 2^63, decimals, temporal text, zero dates, sets, bits, JSON, UUID); and origin
 * marking: replicated writes carry the configured server id in the replica's binlog.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import { column } from '../../unit/apply/events.ts';
import { applyBatches, createTargetDatabase, mariadbConnection, type TargetDatabase } from './harness.ts';
import { positionRow } from '../../../services/apply/position-rows.ts';

let db: TargetDatabase;

before(async () => {
  db = await createTargetDatabase();
});

after(async () => {
  await db.drop();
});

function mysqlTable(table: string, columns: readonly ColumnSchema[], key: readonly string[]): TableSchema {
  return { database: 'shop', schema: 'shop', table, dialect: 'mysql', columns, key, beforeImage: 'full' };
}

/** Events of one binlog transaction with seq `seq`, as the binlog connector numbers them. */
function binlogTransaction(seq: bigint, table: TableSchema, rows: readonly Row[]): ChangeEvent[] {
  const id = `0-1-${seq}`;
  return rows.map((after, index) => ({
    op: 'c',
    table,
    before: null,
    after,
    transaction: { id, index, total: rows.length },
    source: {
      connector: 'shop',
      position: { commit: { kind: 'binlog', flavor: 'mariadb', gtidSet: id, seq }, index },
      txId: id,
      commitTimeMicros: 1_700_000_000_000_000n + seq,
      origin: null,
      snapshot: false,
    },
  }));
}

const enumValues = ['small', 'large'];
const setValues = ['red', 'green', 'blue'];
const typed = mysqlTable(
  'typed',
  [
    column('id', 'bigint(20) unsigned', { kind: 'uint64' }, false),
    column('tiny', 'tinyint(4)', { kind: 'int16' }),
    column('price', 'decimal(12,4)', { kind: 'decimal', precision: 12, scale: 4 }),
    column('created', 'datetime(6)', { kind: 'timestamp', precision: 6 }),
    column('stamp', 'timestamp(3)', { kind: 'timestamptz', precision: 3 }),
    column('zero', 'date', { kind: 'date' }),
    column('dur', 'time', { kind: 'time', precision: 0 }),
    column('size', "enum('small','large')", { kind: 'enum', values: enumValues }),
    column('colors', "set('red','green','blue')", { kind: 'set', values: setValues }),
    column('flags', 'bit(10)', { kind: 'bit', length: 10 }),
    column('doc', 'longtext', { kind: 'json' }),
    column('uid', 'uuid', { kind: 'uuid' }),
    column('blob', 'blob', { kind: 'bytes' }),
    column('name', 'varchar(40)', { kind: 'string', maxLength: 40 }),
    column('yr', 'year(4)', { kind: 'int16' }),
  ],
  ['id'],
);

void describe('MySQL/MariaDB events → MariaDB', () => {
  void test('source types are kept and every value is exact', async () => {
    const stream = `${db.name}_mysql`;
    const row = {
      id: 18446744073709551615n,
      tiny: -128,
      price: '12345678.1234',
      created: '2024-02-29 23:59:59.999999',
      stamp: '2024-01-02 03:04:05.678+00',
      zero: '0000-00-00',
      dur: '-838:59:59',
      size: 'large',
      colors: 'red,blue',
      flags: '1000000001',
      doc: '{"k": [1, "two"]}',
      uid: '123e4567-e89b-12d3-a456-426614174000',
      blob: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      name: 'Zoë',
      yr: 2155,
    };
    const run = await applyBatches(stream, [binlogTransaction(1n, typed, [row])], {
      targetDatabase: db.name,
    });
    assert.equal(run.error, null);
    assert.equal(run.deadLetters.letters.length, 0, run.deadLetters.letters.map((l) => l.reason).join('\n'));
    assert.deepEqual(await db.rows(`SELECT * FROM \`${db.name}\`.\`typed\``), [
      {
        id: '18446744073709551615',
        tiny: '-128',
        price: '12345678.1234',
        created: '2024-02-29 23:59:59.999999',
        stamp: '2024-01-02 03:04:05.678',
        zero: '0000-00-00',
        dur: '-838:59:59',
        size: 'large',
        colors: 'red,blue',
        flags: '0201',
        doc: '{"k": [1, "two"]}',
        uid: '123e4567-e89b-12d3-a456-426614174000',
        blob: 'deadbeef',
        name: 'Zoë',
        yr: '2155',
      },
    ]);
    const columns = await db.rows(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'typed' ORDER BY ORDINAL_POSITION`,
      [db.name],
    );
    assert.deepEqual(
      columns.map((c) => c.type),
      typed.columns.map((c) => (c.name === 'doc' ? 'longtext' : c.sourceType)),
    );
    const [position] = await db.rows('SELECT position FROM `cdc_apply`.`applied_position` WHERE stream = ?', [
      positionRow(stream, db.name),
    ]);
    assert.equal(position?.position, 'binlog:mariadb:1:0-1-1#0');
  });

  void test('with origin marking, replicated writes carry the configured server id in the binlog', async () => {
    const stream = `${db.name}_origin`;
    const table = mysqlTable('marked', [column('id', 'int(11)', { kind: 'int32' }, false)], ['id']);
    const sql = await mariadbConnection();
    try {
      const [[start]] = (await sql.query('SHOW MASTER STATUS')) as unknown as [
        [{ File: string; Position: number }],
      ];
      const run = await applyBatches(stream, [binlogTransaction(1n, table, [{ id: 7 }])], {
        targetDatabase: db.name,
        originServerId: 424242,
      });
      assert.equal(run.error, null);
      // What the binlog connector reads: the row event of our table, written under the configured server id.
      const [events] = (await sql.query(`SHOW BINLOG EVENTS IN ? FROM ${Number(start.Position)}`, [
        start.File,
      ])) as unknown as [{ Server_id: number; Event_type: string; Info: string }[]];
      const mapped = events.filter(
        (event) => event.Event_type === 'Table_map' && event.Info.includes(`(${db.name}.marked)`),
      );
      assert.equal(mapped.length, 1, JSON.stringify(events));
      assert.equal(mapped[0]!.Server_id, 424242);
    } finally {
      await sql.end();
    }
  });
});
