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
import { applyHostileStream, EXPECTED_DEAD_LETTERS, HEALTHY_ROWS } from '../../support/hostile-schema.ts';
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
  const hostileType = `int) SELECT * FROM \`${db.name}\`.\`victim\` #`;
  const overlongName = `c${'x'.repeat(64)}`;
  const run = await applyHostileStream({
    kind: 'mariadb',
    url: `${stack.mariadbUrl}${db.name}`,
    dialect: 'mysql',
    schema: 'shop',
    idType: 'bigint(20)',
    noteType: 'varchar(40)',
    hostileType,
    overlongName,
    healthyRows: async () =>
      Number(
        (await db.rows(`SELECT count(*) AS n FROM \`${db.name}\`.good`).catch(() => [{ n: '0' }]))[0]?.n,
      ),
  });

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
    (await db.rows(`SELECT id, note FROM \`${db.name}\`.good ORDER BY id`)).map(
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

  assert.equal(run.deadLetters.length, EXPECTED_DEAD_LETTERS);
  const [insert, update, long] = run.deadLetters;
  for (const letter of [insert, update]) {
    assert.equal(letter?.table, 'shop.evil');
    assert.equal(letter?.code, 'SCHEMA_REFUSED');
    assert.ok(
      letter?.reason.startsWith(
        `table shop.evil refused before any DDL: column "payload": type ${JSON.stringify(hostileType)} is not a MariaDB/MySQL type`,
      ),
      letter?.reason,
    );
  }
  assert.deepEqual([insert?.op, update?.op], ['c', 'u']);
  assert.equal(long?.table, 'shop.overlong');
  assert.equal(long?.code, 'SCHEMA_REFUSED');
  assert.match(long?.reason ?? '', new RegExp(`column "${overlongName}": name .* is 65 characters long`));
});
