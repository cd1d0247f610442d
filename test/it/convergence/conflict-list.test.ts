/**
 * Listing recorded conflicts from real targets: a PostgreSQL database written by two links (a mesh node) and
 * a MariaDB server whose one `cdc_apply` database other replicas share. The rows are inserted here in the
 * conflict log's format (services/apply/conflicts/conflict-log.ts), so the listing is tested apart from
 * the sink that records them; the convergence tests check conflicts recorded by a running pipeline.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import { buildApp } from '../../../services/api/app.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { conflictLister, type ConflictEntry } from '../../../services/pipeline/conflict-list.ts';
import { FakeStatus } from '../../unit/api/fake-status.ts';
import { createMariadbDatabase, mariadbAdminQuery, type MariadbTestDatabase } from '../../support/mariadb.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';

let pgTarget: TestDatabase;
let mariaTarget: MariadbTestDatabase;
const run = uniqueName('cl').replaceAll('_', '-');
const link = (name: string) => `${run}-${name}`;
/** The conflict log names the stream a conflict came with: the replica's source. */
const stream = (replica: string) => `${run}-${replica.split('-to-')[0]}`;

const PG_LOG = `CREATE SCHEMA IF NOT EXISTS cdc_apply;
  CREATE TABLE IF NOT EXISTS cdc_apply.conflicts (
    id bigserial PRIMARY KEY,
    detected_at timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    link text NOT NULL, table_name text NOT NULL, key_json text NOT NULL, kind text NOT NULL,
    policy text NOT NULL, outcome text NOT NULL, local_json text, remote_json text, local_origin text,
    remote_origin text, local_commit_ts timestamp(6), remote_commit_ts timestamp(6))`;

const MARIADB_LOG = `CREATE TABLE IF NOT EXISTS cdc_apply.conflicts (
    id bigint AUTO_INCREMENT PRIMARY KEY,
    detected_at datetime(6) NOT NULL DEFAULT UTC_TIMESTAMP(6),
    link varchar(255) NOT NULL, table_name varchar(512) NOT NULL, key_json text NOT NULL,
    kind varchar(32) NOT NULL, policy varchar(64) NOT NULL, outcome varchar(32) NOT NULL,
    local_json longtext, remote_json longtext, local_origin varchar(255), remote_origin varchar(255),
    local_commit_ts datetime(6), remote_commit_ts datetime(6), KEY conflicts_table_id (table_name, id))`;

const COLUMNS =
  'detected_at, link, table_name, key_json, kind, policy, outcome, local_json, remote_json, local_origin, remote_origin, local_commit_ts, remote_commit_ts';

/** One recorded conflict: `at` is its detection time (UTC), the rest varies with `i`. */
function record(i: number, linkName: string, at: string): unknown[] {
  return [
    at,
    linkName,
    i % 2 === 0 ? 'public.items' : 'public.accounts',
    JSON.stringify({ id: String(i) }),
    i % 3 === 0 ? 'insert_exists' : 'update_differs',
    i % 2 === 0 ? 'last-writer-wins' : 'merge',
    i % 2 === 0 ? 'applied_remote' : 'merged',
    JSON.stringify({ id: String(i), n: i }),
    JSON.stringify({ id: String(i), n: i + 1 }),
    'b',
    'a',
    '2026-05-01 09:00:00.000001',
    `2026-05-01 09:00:0${i % 10}.123456`,
  ];
}

before(async () => {
  pgTarget = await createDatabase('conflicts_pg');
  mariaTarget = await createMariadbDatabase('conflicts_my');
  await pgTarget.query(PG_LOG);
  await mariadbAdminQuery('CREATE DATABASE IF NOT EXISTS cdc_apply');
  await mariadbAdminQuery(MARIADB_LOG);
  const at = (i: number) => `2026-05-01 10:00:${String(i).padStart(2, '0')}.000000`;
  for (let i = 1; i <= 6; i++) {
    const values = record(i, stream(i <= 3 ? 'a-to-b' : 'c-to-b'), at(i));
    await pgTarget.query(
      `INSERT INTO cdc_apply.conflicts (${COLUMNS}) VALUES (${values.map((_, n) => `$${n + 1}`).join(', ')})`,
      values,
    );
  }
  // Another pipeline's replica on the same MariaDB server: must not be listed.
  for (const [i, name] of [
    [7, stream('a-to-m')],
    [8, `${run}-other`],
    [9, stream('a-to-m')],
  ] as const)
    await mariadbAdminQuery(
      `INSERT INTO cdc_apply.conflicts (${COLUMNS}) VALUES (${COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
      record(i, name, at(i)),
    );
});

after(async () => {
  await mariadbAdminQuery('DELETE FROM cdc_apply.conflicts WHERE link LIKE ?', [`${run}-%`]);
  await pgTarget.drop();
  await mariaTarget.drop();
});

function config() {
  const mariaUrl = `${stack.mariadbUrl.replace(/\/$/, '')}/${mariaTarget.name}`;
  return parseConfig(
    JSON.stringify({
      name: run,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: run },
      sources: ['a', 'c'].map((name) => ({ name: link(name), kind: 'postgres', url: stack.pgSourceUrl })),
      replicas: [
        { name: link('a-to-b'), source: link('a'), kind: 'postgres', url: pgTarget.url },
        { name: link('c-to-b'), source: link('c'), kind: 'postgres', url: pgTarget.url },
        { name: link('a-to-m'), source: link('a'), kind: 'mariadb', url: mariaUrl },
      ],
    }),
    'json',
    { env: {} },
  );
}

const ids = (entries: readonly ConflictEntry[]) =>
  entries.map((e) => `${e.replica.slice(run.length + 1)}:${JSON.stringify(e.key)}`);

test("every conflict of the pipeline is listed once, page by page, and no other replica's", async () => {
  const lister = conflictLister(config().replicas);
  const seen: ConflictEntry[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await lister.list({ limit: 2, ...(cursor !== undefined ? { cursor } : {}) });
    seen.push(...page.entries);
    if (page.next === null) break;
    cursor = page.next;
  }
  assert.deepEqual(ids(seen), [
    'a-to-b:{"id":"1"}',
    'a-to-b:{"id":"2"}',
    'a-to-b:{"id":"3"}',
    'c-to-b:{"id":"4"}',
    'c-to-b:{"id":"5"}',
    'c-to-b:{"id":"6"}',
    'a-to-m:{"id":"7"}',
    'a-to-m:{"id":"9"}',
  ]);
  const [first] = seen;
  assert.deepEqual(
    { ...first, id: undefined, replica: undefined },
    {
      id: undefined,
      replica: undefined,
      detectedAt: '2026-05-01T10:00:01.000000Z',
      table: 'public.accounts',
      key: { id: '1' },
      kind: 'update_differs',
      policy: 'merge',
      outcome: 'merged',
      local: { id: '1', n: 1 },
      remote: { id: '1', n: 2 },
      localOrigin: 'b',
      remoteOrigin: 'a',
      localCommitTs: '2026-05-01T09:00:00.000001Z',
      remoteCommitTs: '2026-05-01T09:00:01.123456Z',
    },
  );
  const maria = seen.find((e) => e.replica === link('a-to-m'));
  assert.equal(maria?.detectedAt, '2026-05-01T10:00:07.000000Z', 'MariaDB times read as the same UTC text');
});

test('filters: replica, table, policy, kind and a time window, on both databases', async () => {
  const lister = conflictLister(config().replicas);
  const list = async (query: Parameters<typeof lister.list>[0]) => ids((await lister.list(query)).entries);
  assert.deepEqual(await list({ replica: link('c-to-b'), limit: 10 }), [
    'c-to-b:{"id":"4"}',
    'c-to-b:{"id":"5"}',
    'c-to-b:{"id":"6"}',
  ]);
  assert.deepEqual(await list({ table: 'public.items', policy: 'last-writer-wins', limit: 10 }), [
    'a-to-b:{"id":"2"}',
    'c-to-b:{"id":"4"}',
    'c-to-b:{"id":"6"}',
  ]);
  assert.deepEqual(await list({ kind: 'insert_exists', limit: 10 }), [
    'a-to-b:{"id":"3"}',
    'c-to-b:{"id":"6"}',
    'a-to-m:{"id":"9"}',
  ]);
  assert.deepEqual(
    await list({
      since: new Date('2026-05-01T10:00:03Z'),
      until: new Date('2026-05-01T10:00:09Z'),
      limit: 10,
    }),
    ['a-to-b:{"id":"3"}', 'c-to-b:{"id":"4"}', 'c-to-b:{"id":"5"}', 'c-to-b:{"id":"6"}', 'a-to-m:{"id":"7"}'],
  );
  await assert.rejects(lister.list({ replica: 'nope', limit: 1 }), /no replica named "nope"/);
});

test('GET /conflicts answers from the targets, and a target without a conflict log lists nothing', async () => {
  const empty = await createDatabase('conflicts_none');
  try {
    const app = await buildApp({
      status: new FakeStatus(),
      metrics: createMetrics(),
      conflicts: conflictLister([
        ...config().replicas,
        { ...config().replicas[0]!, name: link('x-to-y'), url: empty.url },
      ]),
    });
    try {
      const response = await app.inject({
        method: 'GET',
        url: `/conflicts?replica=${link('a-to-b')}&kind=insert_exists`,
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(ids(response.json<{ entries: ConflictEntry[] }>().entries), ['a-to-b:{"id":"3"}']);
      const none = await app.inject({ method: 'GET', url: `/conflicts?replica=${link('x-to-y')}` });
      assert.deepEqual(none.json(), { entries: [], next: null });
    } finally {
      await app.close();
    }
  } finally {
    await empty.drop();
  }
});
