/**
 * Marker-row origin marking without servers: the option's validation (exact paths, conflict handling off by
 * default and refused when asked for), and the origin filter taking a transaction that begins with a marker row
 * as the link's, across the pieces of a large transaction, without ever publishing the marker itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureBatch, ResumePoint, SourceConnector } from '../../../connectors/connector.ts';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { CommitPosition } from '../../../schemas/positions/position.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { readsMarkerRows } from '../../../services/config/topology-compile.ts';
import { OriginFilter } from '../../../services/pipeline/origin-filter.ts';
import { configProblems } from '../../support/config-problems.ts';

const node = (name: string, kind = 'postgres', extra: Record<string, unknown> = {}) => ({
  name,
  kind,
  url: kind === 'postgres' ? `postgres://app:pw@db-${name}:5432/shop` : `mysql://app:pw@db-${name}:3306/shop`,
  ...(kind === 'mariadb' ? { serverId: name.charCodeAt(0), gtidDomainId: name.charCodeAt(0) } : {}),
  ...extra,
});

const pipeline = (topology: unknown): string =>
  JSON.stringify({ name: 't', kafka: { brokers: ['127.0.0.1:59092'] }, topology });

const parse = (topology: unknown): PipelineConfig => parseConfig(pipeline(topology), 'json', { env: {} });

const problemsOf = (topology: unknown): string[] => configProblems(pipeline(topology));

void describe('originMarking in a topology', () => {
  void test('auto by default; a PostgreSQL node with links that may use marker rows reads the marker table', () => {
    const config = parse({ shape: 'pair', nodes: [node('a'), node('b')], links: [{ from: 'a', to: 'b' }] });
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.originMarking, r.conflicts?.enabled]),
      [
        ['a-to-b', 'auto', true],
        ['b-to-a', 'auto', true],
      ],
    );
    const topology = config.topology;
    assert.ok(topology);
    assert.equal(readsMarkerRows(topology, 'a'), true);
  });

  void test('marker-row on a node turns conflict handling off by default for the links into it', () => {
    const config = parse({
      shape: 'pair',
      nodes: [node('a'), node('b', 'postgres', { originMarking: 'marker-row' })],
      links: [{ from: 'a', to: 'b' }],
    });
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.originMarking, r.conflicts?.enabled ?? false]),
      [
        ['a-to-b', 'marker-row', false],
        ['b-to-a', 'auto', true],
      ],
    );
  });

  void test('native everywhere: no node reads the marker table', () => {
    const config = parse({
      shape: 'pair',
      nodes: [
        node('a', 'postgres', { originMarking: 'native' }),
        node('b', 'postgres', { originMarking: 'native' }),
      ],
      links: [{ from: 'a', to: 'b' }],
    });
    const topology = config.topology;
    assert.ok(topology);
    assert.equal(readsMarkerRows(topology, 'a'), false);
    assert.equal(readsMarkerRows(topology, 'b'), false);
  });

  void test('marker-row on a MariaDB node: its binlog capture reads the marker table', () => {
    const config = parse({
      shape: 'cascade',
      nodes: [node('a'), node('m', 'mariadb', { originMarking: 'marker-row' })],
      links: [{ from: 'a', to: 'm' }],
    });
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.originMarking]),
      [['a-to-m', 'marker-row']],
    );
  });

  void test('refused at the exact path: conflict handling with marker-row, a wrong value', () => {
    const conflicting = problemsOf({
      shape: 'pair',
      nodes: [node('a', 'postgres', { originMarking: 'marker-row' }), node('b')],
      links: [{ from: 'a', to: 'b', apply: { conflicts: { enabled: true } } }],
    });
    assert.equal(conflicting.length, 1);
    assert.match(
      conflicting[0] ?? '',
      /^topology\.links\[0\]\.apply\.conflicts\.enabled: conflict handling needs native origin marking/,
    );
    assert.deepEqual(
      problemsOf({
        shape: 'cascade',
        nodes: [node('a'), node('b', 'postgres', { originMarking: 'row' })],
        links: [{ from: 'a', to: 'b' }],
      }).map((line) => line.split(':')[0]),
      ['topology.nodes[1].originMarking'],
    );
  });
});

const commit: CommitPosition = { kind: 'pg', lsn: 100n } as CommitPosition;
const items = { schema: 'public', table: 'items' };
const marks = { schema: 'cdc_apply', table: 'origin_marks' };

function event(table: typeof items, txId: string, index: number, after: Row, origin: string | null = null) {
  return {
    op: 'c',
    table,
    before: null,
    after,
    source: { origin, commitTimeMicros: 5n, position: { commit, index } },
    transaction: { id: txId, index, total: null },
  } as unknown as ChangeEvent;
}

const mark = (txId: string, marker: string) =>
  event(marks, txId, 0, {
    marker,
    origin_node: 'a',
    origin_position: 'pg:0/AB',
    origin_commit_micros: 42n,
  });

/** The filter's output over `batches`; `asked` gets the resume point the filter asked the connector for. */
async function filtered(
  config: PipelineConfig,
  nodeName: string,
  batches: CaptureBatch[],
  resume: ResumePoint = { position: null, state: null },
  asked: ResumePoint[] = [],
) {
  const rule = config.topology?.captureRules[nodeName];
  const topology = config.topology;
  assert.ok(rule && topology);
  const inner = {
    name: nodeName,
    async *stream(from: ResumePoint) {
      asked.push(from);
      for (const batch of batches) yield await Promise.resolve(batch);
    },
  } as unknown as SourceConnector;
  const filter = new OriginFilter(inner, rule, readsMarkerRows(topology, nodeName));
  const out: ChangeEvent[][] = [];
  for await (const batch of filter.stream(resume, new AbortController().signal)) out.push([...batch.events]);
  return out;
}

void describe('the origin filter reads marker rows', () => {
  const pair = parse({ shape: 'pair', nodes: [node('a'), node('b')], links: [{ from: 'a', to: 'b' }] });
  const cascade = parse({
    shape: 'cascade',
    nodes: [node('a'), node('b'), node('c')],
    links: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ],
  });

  void test('a pair node drops a marked transaction whole, across its pieces, and keeps its own writes', async () => {
    const out = await filtered(pair, 'b', [
      { events: [mark('7', 'cdc_a__b'), event(items, '7', 1, { id: 1 })], commit: null },
      { events: [event(items, '7', 2, { id: 2 })], commit },
      { events: [event(items, '8', 0, { id: 3 })], commit },
    ]);
    assert.deepEqual(
      out.map((batch) => batch.map((e) => e.after)),
      [[], [], [{ id: 3 }]],
    );
  });

  void test('a cascade tier re-publishes a marked transaction under the node it came from, with its origin commit', async () => {
    const out = await filtered(cascade, 'b', [
      { events: [mark('7', 'cdc_a__b'), event(items, '7', 1, { id: 1 })], commit },
    ]);
    const [only] = out.flat();
    assert.equal(out.flat().length, 1, 'the marker row itself is never published');
    assert.equal(only?.source.origin, 'a');
    assert.equal(only.source.commitTimeMicros, 42n);
    assert.deepEqual(only.source.originCommit, { kind: 'pg', lsn: 0xabn });
  });

  void test('a marker row of an unknown link, or a snapshot read of the table, marks nothing and is not published', async () => {
    const read = { ...mark('x', 'cdc_a__b'), op: 'r', transaction: null } as unknown as ChangeEvent;
    const out = await filtered(pair, 'b', [
      { events: [read], commit },
      { events: [mark('9', 'cdc_z__b'), event(items, '9', 1, { id: 1 })], commit },
    ]);
    assert.deepEqual(
      out.map((batch) => batch.map((e) => [e.after, e.source.origin])),
      [[], [[{ id: 1 }, 'cdc_z__b']]],
    );
  });

  void test('a cascade tier resumed inside a marked transaction reads it from its start, and publishes only the rest', async () => {
    // Published before the restart: the transaction's events up to index 2 (the marker row is index 0).
    const asked: ResumePoint[] = [];
    const out = await filtered(
      cascade,
      'b',
      [
        {
          events: [
            mark('7', 'cdc_a__b'),
            ...[1, 2, 3, 4].map((index) => event(items, '7', index, { id: index })),
          ],
          commit,
        },
      ],
      { position: { commit, index: 2 }, state: null },
      asked,
    );
    assert.deepEqual(
      asked.map((point) => point.position?.index),
      [-1],
    );
    assert.deepEqual(
      out.flat().map((e) => [e.after, e.source.origin]),
      [
        [{ id: 3 }, 'a'],
        [{ id: 4 }, 'a'],
      ],
    );
  });

  void test('a pair node resumes where it was: it never publishes part of a marked transaction', async () => {
    const asked: ResumePoint[] = [];
    await filtered(pair, 'b', [], { position: { commit, index: 2 }, state: null }, asked);
    assert.deepEqual(
      asked.map((point) => point.position?.index),
      [2],
    );
  });
});
