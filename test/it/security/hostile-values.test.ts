/**
 * Values a source may hold that a replica cannot take, and names at the limit. A MariaDB text with a NUL byte
 * replicated into PostgreSQL (whose text cannot hold one) is dead-lettered with a reason naming its table
 * and column, and the rows around it, and after it, still arrive; a table and a column whose names are as
 * long as PostgreSQL allows and hold quotes of both kinds are created and filled exactly.
 *
 * Invalid UTF-8 is not among them: MariaDB refuses to store it in a utf8mb4 column (it writes `?` instead,
 * measured with `SET NAMES binary` and an empty sql_mode), so no binlog event can carry it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { createTestPipeline } from '../../support/binlog-pipeline.ts';
import { readDeadLetters } from '../../support/dead-letters.ts';
import { createMariadbDatabase } from '../../support/mariadb.ts';
import { createDatabase } from '../../support/pg.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });

/** 63 characters (PostgreSQL's longest name), with a double quote, a single quote and a backquote in it. */
const TABLE = `it's "quoted" \`too\` ${'t'.repeat(63 - 20)}`;
const COLUMN = `a "column's" name ${'c'.repeat(63 - 18)}`;

void test('a NUL byte is dead-lettered naming table and column, the rest flows; names at the limit with quotes replicate', async () => {
  assert.equal(TABLE.length, 63);
  assert.equal(COLUMN.length, 63);
  const source = await createMariadbDatabase('hv_src');
  cleanups.push(() => source.drop());
  const replica = await createDatabase('hv_dst');
  cleanups.push(() => replica.drop());
  const mariaTable = `\`${TABLE.replaceAll('`', '``')}\``;
  const mariaColumn = `\`${COLUMN.replaceAll('`', '``')}\``;
  await source.query('CREATE TABLE notes (id int PRIMARY KEY, body varchar(100) NOT NULL)');
  await source.query(`CREATE TABLE ${mariaTable} (id int PRIMARY KEY, ${mariaColumn} varchar(20))`);
  await source.query(`INSERT INTO notes SELECT seq, CONCAT('note ', seq) FROM seq_1_to_20`);
  await source.query(`INSERT INTO ${mariaTable} VALUES (1, 'x''"y')`);

  const test = await createTestPipeline({
    prefix: 'hv',
    source: { kind: 'mariadb', url: source.url },
    replica: { kind: 'postgres', url: replica.url },
    onError: 'dead-letter',
  });
  cleanups.push(() => test.cleanup());
  const pipeline = await startPipeline(test.config, logger, { api: false });
  cleanups.push(() => pipeline.stop());

  await source.query(`INSERT INTO notes VALUES (21, CONCAT('before', CHAR(0), 'after'))`);
  await source.query(`INSERT INTO notes VALUES (22, 'fine'), (23, 'also fine')`);
  await source.query(`INSERT INTO ${mariaTable} VALUES (2, 'streamed')`);

  const notes = async () =>
    (await replica.query<{ id: string }>(`SELECT id FROM "${source.name}".notes ORDER BY id`)).rows.map((r) =>
      Number(r.id),
    );
  const expected = [...Array.from({ length: 20 }, (_, i) => i + 1), 22, 23];
  await waitFor(
    'every note but the one with a NUL byte on the replica',
    async () => JSON.stringify(await notes().catch(() => [])) === JSON.stringify(expected),
  );
  const [letter] = await readDeadLetters(test.topics.deadLetter, 1);
  assert.equal(letter?.table, `${source.name}.notes`);
  assert.match(letter?.reason ?? '', /0x00/);
  assert.match(letter?.reason ?? '', /column body/);

  const quoted = `"${source.name}"."${TABLE.replaceAll('"', '""')}"`;
  const rows = async () =>
    (
      await replica.query(
        `SELECT id::text, "${COLUMN.replaceAll('"', '""')}" AS value FROM ${quoted} ORDER BY id`,
      )
    ).rows;
  await waitFor(
    'both rows of the quoted table on the replica',
    async () => (await rows().catch(() => [])).length === 2,
  );
  assert.deepEqual(await rows(), [
    { id: '1', value: `x'"y` },
    { id: '2', value: 'streamed' },
  ]);
  for (const worker of pipeline.workers()) assert.equal(worker.state, 'running', worker.lastError ?? '');
});
