/**
 * The marker-row fallback into MariaDB: a pair p ⇄ m (PostgreSQL ⇄ MariaDB) where node m is reached as a user
 * without BINLOG REPLAY (it may replicate, and write its own database and cdc_apply, nothing more), so the link
 * p → m cannot set a session server_id and marks with a row of cdc_apply.origin_marks, which m's binlog capture
 * reads by name. With writers on both sides, both converge, nothing goes round, and the start-up log says so.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { readChangelog } from '../../support/changelog.ts';
import { mariadbAdminQuery } from '../../support/mariadb.ts';
import { uniqueName } from '../../support/stack.ts';
import {
  assertMixedItemsConverge,
  assertNoLoop,
  startTopology,
  waitStreaming,
  writeOwnKeys,
  type TopologyStage,
} from './harness.ts';

const user = uniqueName('plain');
const lines: { msg?: string; link?: string; marking?: string }[] = [];
const log = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
      lines.push(JSON.parse(line) as (typeof lines)[number]);
    done();
  },
});
let stage: TopologyStage;

before(async () => {
  await mariadbAdminQuery(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
  await mariadbAdminQuery(`GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '${user}'@'%'`);
  await mariadbAdminQuery(`GRANT ALL ON \`cdc_apply\`.* TO '${user}'@'%'`);
  stage = await startTopology(
    'markm',
    'pair',
    ['p', 'm'],
    [{ from: 'p', to: 'm' }],
    async (short, { kind, db }) => {
      await db.query(
        kind === 'postgres'
          ? 'CREATE TABLE items (id bigint PRIMARY KEY, owner varchar(100) NOT NULL, n integer NOT NULL, note varchar(100))'
          : 'CREATE TABLE items (id bigint PRIMARY KEY, owner varchar(100) NOT NULL, n int NOT NULL, note varchar(100))',
      );
      if (short === 'm') await mariadbAdminQuery(`GRANT ALL ON \`${db.name}\`.* TO '${user}'@'%'`);
    },
    ['m'],
    {
      nodes: (short, { db }) => {
        if (short !== 'm') return {};
        const url = new URL(db.url);
        url.username = user;
        url.password = 'pw';
        return { url: url.toString() };
      },
      logger: pino({ level: 'info' }, log),
    },
  );
});

after(async () => {
  const marker = stage.config.topology?.links.find((l) => l.to === stage.nodes.m?.name)?.marker;
  await stage.cleanup();
  if (marker) await mariadbAdminQuery('DELETE FROM `cdc_apply`.`origin_marks` WHERE marker = ?', [marker]);
  await mariadbAdminQuery(`DROP USER IF EXISTS '${user}'@'%'`);
});

test('a link into MariaDB without BINLOG REPLAY marks with a marker row, and nothing goes round', async () => {
  const { nodes } = stage;
  const [p, m] = [nodes.p, nodes.m];
  assert.ok(p?.kind === 'postgres' && m?.kind === 'mariadb');
  const intoM = lines.find((line) => line.link === `${p.name}-to-${m.name}` && line.marking !== undefined);
  assert.equal(intoM?.marking, 'marker-row');
  assert.match(intoM.msg ?? '', /marker row in cdc_apply\.origin_marks .*GRANT BINLOG REPLAY ON \*\.\* TO/);

  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await Promise.all([writeOwnKeys(p, 0, seed, 120), writeOwnKeys(m, 100_000, seed + 1, 120)]);
  await assertMixedItemsConverge(p, m, seed);
  await assertNoLoop(stage);
  const events = await readChangelog(stage.prefix, stage.changelog('m'));
  assert.deepEqual(
    events.filter((item) => item.event.table.schema === 'cdc_apply').map((item) => item.offset),
    [],
    "m's changelog holds marker rows",
  );
});
