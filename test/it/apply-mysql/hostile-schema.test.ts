/**
 * A MariaDB replica fed a changelog whose schemas carry hostile type texts and overlong names
 * (test/support/hostile-schema.ts). The driver sends one statement at a time, so the hostile type stays inside
 * the replica's CREATE TABLE, and there it was enough: `` int) SELECT * FROM `db`.`victim` # `` turned it into
 * CREATE ... SELECT, copying an unrelated table's rows into a table the changelog's writer named (and whose
 * binlog a next tier would publish). Now the table is refused before any DDL and its events dead-lettered
 * with a reason naming table, column and text, while the healthy table beside them is replicated whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { stack } from '../../support/stack.ts';
import { quoteIdent } from '../../../connectors/mysql/types/catalog.ts';
import {
  applyHostileStream,
  assertRefusedLetters,
  HEALTHY_ROWS,
  NOTE_COLUMN,
  type HostileTarget,
} from '../../support/hostile-schema.ts';
import { createTargetDatabase, mariadbConnection, type TargetDatabase } from './harness.ts';

let db: TargetDatabase;
/** The stream whose applied position the run stored in the server's cdc_apply. */
let stream: string | null = null;

before(async () => {
  db = await createTargetDatabase('hostile');
  const sql = await mariadbConnection();
  try {
    await sql.query(`CREATE TABLE \`${db.name}\`.victim (id int PRIMARY KEY, name varchar(20) NOT NULL)`);
    await sql.query(`INSERT INTO \`${db.name}\`.victim VALUES (1, 'kept'), (2, 'kept too')`);
  } finally {
    await sql.end();
  }
});

after(async () => {
  if (stream !== null) {
    const sql = await mariadbConnection();
    await sql.query('DELETE FROM `cdc_apply`.`applied_position` WHERE stream = ?', [stream]);
    await sql.end();
  }
  await db.drop();
});

test('a hostile column type and an overlong name are refused and dead-lettered; the victim table and the healthy table are intact', async () => {
  const target: HostileTarget = {
    kind: 'mariadb',
    url: `${stack.mariadbUrl}${db.name}`,
    dialect: 'mysql',
    schema: 'shop',
    idType: 'bigint(20)',
    noteType: 'varchar(40)',
    hostileType: `int) SELECT * FROM \`${db.name}\`.\`victim\` #`,
    overlongName: `c${'x'.repeat(64)}`,
    healthyRows: async () =>
      Number(
        (await db.rows(`SELECT count(*) AS n FROM \`${db.name}\`.good`).catch(() => [{ n: '0' }]))[0]?.n,
      ),
  };
  const run = await applyHostileStream(target);
  stream = run.stream;
  assert.deepEqual(
    await db.rows(`SELECT id, name FROM \`${db.name}\`.victim ORDER BY id`),
    [
      { id: '1', name: 'kept' },
      { id: '2', name: 'kept too' },
    ],
    'the victim table still holds its rows',
  );
  assert.deepEqual(
    (await db.rows(`SELECT id, ${quoteIdent(NOTE_COLUMN)} AS note FROM \`${db.name}\`.good ORDER BY id`)).map(
      (row) => `${row.id}:${row.note}`,
    ),
    Array.from({ length: HEALTHY_ROWS }, (_, n) => `${n + 1}:row ${n + 1}`),
    'the healthy table is replicated whole',
  );
  assert.deepEqual(
    (
      await db.rows(
        'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1',
        [db.name],
      )
    ).map((row) => row.name),
    ['good', 'victim'],
    'no DDL ran for the refused tables: nothing holds a copy of the victim',
  );

  assertRefusedLetters(run, target, {
    typeWhy: 'is not a MariaDB/MySQL type: the character "*" at offset 12',
    nameWhy: 'is 65 characters long; MariaDB/MySQL names are at most 64 characters',
  });
});
