/**
 * The marker-row fallback on the real stack: a PostgreSQL pair a ⇄ b where node b is reached as a plain role
 * (no superuser, no EXECUTE on pg_replication_origin_*; only what it needs on its own database: REPLICATION, its
 * tables, CREATE for the cdc_apply schema). The link a → b therefore marks with a row of cdc_apply.origin_marks,
 * b → a with its replication origin, and the start-up log says so per link. With writers on both sides, both
 * converge and the loop detector holds; the marker rows never reach a changelog, and the table keeps one row.
 * With conflict handling left on, the same pair is refused at start-up, naming the link and the grant.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { CdcError } from '../../../common/errors.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { startPipeline } from '../../../services/pipeline/pipeline.ts';
import { readChangelog } from '../../support/changelog.ts';
import { adminQuery } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import {
  assertItemsConverge,
  assertNoLoop,
  ITEMS_TABLE,
  startTopology,
  waitStreaming,
  writeOwnKeys,
  type TopologyStage,
} from './harness.ts';

const role = uniqueName('plain');
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
  await adminQuery(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD 'pw'`);
  stage = await startTopology(
    'marker',
    'pair',
    ['a', 'b'],
    // A marker row cannot carry the row versions conflict handling compares: it is off for this pair.
    [{ from: 'a', to: 'b', apply: { conflicts: { enabled: false } } }],
    async (short, { db }) => {
      await db.query(ITEMS_TABLE);
      if (short !== 'b') return;
      await db.query(`ALTER TABLE items OWNER TO ${role}`);
      await adminQuery(`GRANT CREATE ON DATABASE "${db.name}" TO ${role}`);
    },
    [],
    {
      // b is captured and written as the plain role; a publication FOR TABLES IN SCHEMA needs a superuser.
      nodes: (short, { db }) => {
        if (short !== 'b') return {};
        const url = new URL(db.url);
        url.username = role;
        url.password = 'pw';
        return { url: url.toString(), capture: { tables: ['public.items'] } };
      },
      logger: pino({ level: 'info' }, log),
    },
  );
});

after(async () => {
  await stage.cleanup();
  await adminQuery(`DROP ROLE IF EXISTS ${role}`);
});

test('a link without the replication-origin privilege marks with a marker row, and nothing goes round', async () => {
  const { nodes } = stage;
  const [a, b] = [nodes.a, nodes.b].map((node) => (node?.kind === 'postgres' ? node.db : undefined));
  assert.ok(a && b && nodes.a && nodes.b);

  const said = (link: string) => lines.find((line) => line.link === link && line.marking !== undefined);
  const intoB = said(`${nodes.a.name}-to-${nodes.b.name}`);
  assert.equal(intoB?.marking, 'marker-row');
  assert.match(intoB.msg ?? '', /marker row in cdc_apply\.origin_marks/);
  assert.match(
    intoB.msg ?? '',
    new RegExp(`GRANT EXECUTE ON FUNCTION pg_replication_origin_create.* TO "${role}"`),
  );
  const intoA = said(`${nodes.b.name}-to-${nodes.a.name}`);
  assert.equal(intoA?.marking, 'replication-origin');

  await waitStreaming(stage);
  const seed = Date.now() % 100_000;
  await Promise.all([writeOwnKeys(nodes.a, 0, seed, 150), writeOwnKeys(nodes.b, 100_000, seed + 1, 150)]);

  await assertItemsConverge(a, b, seed);

  await assertNoLoop(stage);

  for (const short of ['a', 'b']) {
    const events = await readChangelog(stage.prefix, stage.changelog(short));
    assert.deepEqual(
      events.filter((item) => item.event.table.schema === 'cdc_apply').map((item) => item.offset),
      [],
      `${short}'s changelog holds marker rows`,
    );
  }
  const marks = await b.query<{ marker: string; origin_node: string }>(
    'SELECT marker, origin_node FROM cdc_apply.origin_marks',
  );
  assert.deepEqual(
    marks.rows.map((row) => ({ ...row })),
    [{ marker: `cdc_${nodes.a.name}__${nodes.b.name}`, origin_node: nodes.a.name }],
  );
});

test('with conflict handling on, a link that would fall back to a marker row is refused at start-up', async () => {
  const topology = stage.config.topology;
  assert.ok(topology);
  const config = parseConfig(
    JSON.stringify({
      name: `${stage.prefix}-refused`,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: `${stage.prefix}-refused` },
      topology: {
        shape: 'pair',
        nodes: topology.nodes,
        links: [{ from: stage.nodes.a?.name, to: stage.nodes.b?.name }],
      },
      api: { port: 0 },
    }),
    'json',
    { env: {} },
  );
  await assert.rejects(startPipeline(config, pino({ level: 'silent' })), (error: unknown) => {
    assert.ok(error instanceof CdcError);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /could only be marked with a marker row/);
    assert.match(error.message, /GRANT EXECUTE ON FUNCTION pg_replication_origin_create/);
    assert.match(error.message, /apply\.conflicts\.enabled: false/);
    return true;
  });
});
