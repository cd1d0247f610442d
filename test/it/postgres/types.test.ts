import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import type { Value } from '../../../schemas/events/change-event.ts';
import { Capture, connectorConfig, createSourceDb, type SourceDb } from './pg-fixture.ts';

/** (column type, SQL literal inserted, the Value the connector must produce). */
const CASES: readonly [string, string, Value][] = [
  ['int2', '-32768', -32768],
  ['int4', '2147483647', 2147483647],
  ['int8', '-9223372036854775808', -9223372036854775808n],
  ['float4', '1.5', 1.5],
  ['float8', '0.1', 0.1],
  ['float8', `'NaN'`, NaN],
  ['float8', `'Infinity'`, Infinity],
  ['float8', `'-Infinity'`, -Infinity],
  ['numeric(20,4)', '12345678901234.5678', '12345678901234.5678'],
  ['numeric', '0.000000000000000000000000000001', '0.000000000000000000000000000001'],
  ['numeric', `'NaN'`, 'NaN'],
  ['bool', 'true', true],
  ['bool', 'false', false],
  ['bytea', `'\\x00ff10'::bytea`, new Uint8Array([0, 255, 16])],
  ['date', `'2024-02-29'`, '2024-02-29'],
  ['time', `'13:14:15.123456'`, '13:14:15.123456'],
  ['timetz', `'13:14:15.5+02'`, '13:14:15.5+02'],
  ['timestamp', `'2024-01-02 03:04:05.123456'`, '2024-01-02 03:04:05.123456'],
  ['timestamptz', `'2024-01-02 03:04:05.654321+02'`, '2024-01-02 01:04:05.654321+00'],
  ['interval', `'1 year 2 mons 3 days 04:05:06.789'`, '1 year 2 mons 3 days 04:05:06.789'],
  ['uuid', `'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  ['json', `'{"b": 1, "a": [1,2]}'`, '{"b": 1, "a": [1,2]}'],
  ['jsonb', `'{"b": 1, "a": [1,2]}'`, '{"a": [1, 2], "b": 1}'],
  ['mood', `'happy'`, 'happy'],
  ['text', `'tab\there "quoted" ünïcode'`, 'tab\there "quoted" ünïcode'],
  ['varchar(10)', `'short'`, 'short'],
  ['inet', `'10.1.2.3/8'`, '10.1.2.3/8'],
  ['int4[]', `'{1,NULL,3}'`, [1, null, 3]],
  [
    'int8[]',
    `'{{1,2},{3,4}}'`,
    [
      [1n, 2n],
      [3n, 4n],
    ],
  ],
  [
    'text[]',
    `ARRAY['a,b', 'NULL', NULL, 'say "hi"', 'back\\slash', '']`,
    ['a,b', 'NULL', null, 'say "hi"', 'back\\slash', ''],
  ],
  ['numeric[]', `'{1.10,NaN}'`, ['1.10', 'NaN']],
  ['bool[]', `'{t,f}'`, [true, false]],
  ['mood[]', `'{sad,happy}'`, ['sad', 'happy']],
  ['bytea[]', `ARRAY['\\x01'::bytea, '\\x'::bytea]`, [new Uint8Array([1]), new Uint8Array([])]],
  ['timestamptz[]', `ARRAY['2024-01-02 03:04:05.5+00'::timestamptz]`, ['2024-01-02 03:04:05.5+00']],
];

describe('PostgreSQL value decoding round trip', () => {
  let db: SourceDb;
  before(async () => {
    db = await createSourceDb('pgtypes');
    await db.sql(`CREATE TYPE mood AS ENUM ('sad', 'happy')`);
    const columns = CASES.map(([type], i) => `c${i} ${type}`).join(', ');
    await db.sql(`CREATE TABLE typed (id int PRIMARY KEY, ${columns})`);
  });
  after(async () => {
    await db.drop();
  });

  test('every type decodes to exactly the value inserted, in the stream and in a snapshot', async () => {
    const literals = CASES.map(([type, literal]) => `(${literal})::${type}`).join(', ');
    await db.sql(`INSERT INTO typed VALUES (1, ${literals})`);
    const capture = new Capture(
      new PostgresConnector(connectorConfig(db, { tables: ['public.typed'], snapshot: 'initial' })),
    );
    try {
      await capture.waitStreaming();
      await db.sql(`INSERT INTO typed VALUES (2, ${literals})`);
      await db.sql(`INSERT INTO typed (id) VALUES (3)`);
      const events = await capture.waitForEvents(3);
      const read = events.find((event) => event.op === 'r');
      const streamed = events.find((event) => event.op === 'c' && event.after.id === 2);
      const nulls = events.find((event) => event.op === 'c' && event.after.id === 3);
      assert.ok(read && streamed && nulls, 'snapshot read and streamed inserts arrived');
      CASES.forEach(([type, literal, expected], i) => {
        assert.deepEqual(streamed.after?.[`c${i}`], expected, `stream: ${type} ${literal}`);
        assert.deepEqual(read.after?.[`c${i}`], expected, `snapshot: ${type} ${literal}`);
        assert.equal(nulls.after?.[`c${i}`], null, `SQL NULL of ${type}`);
      });
      const columns = streamed.table.columns;
      const mood = columns.find(
        (column) => column.name === `c${CASES.findIndex(([type]) => type === 'mood')}`,
      );
      assert.deepEqual(mood?.type, { kind: 'enum', values: ['sad', 'happy'] });
      assert.equal(mood?.sourceType, 'public.mood');
      const numeric = columns.find((column) => column.name === 'c8');
      assert.deepEqual(numeric?.type, { kind: 'decimal', precision: 20, scale: 4 });
      assert.equal(numeric?.sourceType, 'numeric(20,4)');
      assert.deepEqual(columns.find((column) => column.name === 'c28')?.type, {
        kind: 'array',
        element: { kind: 'int64' },
      });
      assert.deepEqual(streamed.table.key, ['id']);
      assert.equal(columns.find((column) => column.name === 'id')?.nullable, false);
    } finally {
      await capture.stop();
    }
  });
});
