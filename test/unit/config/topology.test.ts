/**
 * Topologies in the configuration: each shape compiles into sources, one apply worker per directed link and a
 * capture rule per node; invalid topologies are refused with the exact path and the link or node named.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import { defaultServerId, type PipelineConfig } from '../../../services/config/schema.ts';
import type { CaptureBatch, SourceConnector } from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { OriginFilter } from '../../../services/pipeline/origin-filter.ts';
import { configProblems } from '../../support/config-problems.ts';

const pg = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'postgres',
  url: `postgres://app:pw@db-${name}:5432/shop`,
  ...extra,
});
const maria = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'mariadb',
  url: `mysql://app:pw@db-${name}:3306/shop`,
  ...extra,
});

function pipeline(topology: unknown): string {
  return JSON.stringify({ name: 'topo', kafka: { brokers: ['127.0.0.1:59092'] }, topology });
}

function parse(topology: unknown): PipelineConfig {
  return parseConfig(pipeline(topology), 'json', { env: {} });
}

/** The problems a topology is refused with, one `<path>: <why>` line each. */
function problemsOf(topology: unknown, extra: Record<string, unknown> = {}): string[] {
  const text = JSON.stringify({
    name: 'topo',
    kafka: { brokers: ['127.0.0.1:59092'] },
    topology,
    ...extra,
  });
  return configProblems(text);
}

void describe('topology shapes compile into sources, apply workers and capture rules', () => {
  void test('cascade a → b → c: b is captured and re-publishes what it applied; c is fed from b', () => {
    const config = parse({
      shape: 'cascade',
      nodes: [pg('a'), pg('b'), pg('c')],
      links: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    });
    assert.deepEqual(
      config.sources.map((s) => s.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.source, r.url, r.originName]),
      [
        ['a-to-b', 'a', 'postgres://app:pw@db-b:5432/shop', 'cdc_a__b'],
        ['b-to-c', 'b', 'postgres://app:pw@db-c:5432/shop', 'cdc_b__c'],
      ],
    );
    assert.deepEqual(config.topology?.captureRules, {
      a: { origins: {}, drop: [] },
      b: { origins: { cdc_a__b: 'a' }, drop: [] },
    });
    // Source defaults apply to nodes as to sources[].
    const b = config.sources[1];
    assert.ok(b?.kind === 'postgres');
    assert.equal(b.slot, 'cdc_b');
  });

  void test('cascade of four tiers: a tier marks what it re-publishes by the node it was first written on', () => {
    const config = parse({
      shape: 'cascade',
      nodes: [pg('a'), pg('b'), pg('c'), pg('d')],
      links: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'd' },
      ],
    });
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.originName, r.originsByNode]),
      [
        ['a-to-b', 'cdc_a__b', undefined],
        ['b-to-c', 'cdc_b__c', { a: 'cdc_a__b__c' }],
        ['c-to-d', 'cdc_c__d', { b: 'cdc_b__c__d', a: 'cdc_a__c__d' }],
      ],
    );
    assert.deepEqual(config.topology?.captureRules.c, {
      origins: { cdc_b__c: 'b', cdc_a__b__c: 'a' },
      drop: [],
    });
  });

  void test("past a MariaDB tier a change names that tier's source: its binlog has one server id per link", () => {
    const config = parse({
      shape: 'cascade',
      nodes: [pg('a'), pg('b'), maria('m', { serverId: 7, gtidDomainId: 7 }), pg('c'), pg('d')],
      links: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'm' },
        { from: 'm', to: 'c' },
        { from: 'c', to: 'd' },
      ],
    });
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.originsByNode]),
      [
        ['a-to-b', undefined],
        ['b-to-m', undefined],
        ['m-to-c', { b: 'cdc_b__m__c' }],
        ['c-to-d', { m: 'cdc_m__c__d', b: 'cdc_b__c__d' }],
      ],
    );
  });

  void test('a pair node fed by a cascade passes its changes on, and drops them all when they come back', () => {
    const config = parse({
      nodes: [pg('a'), pg('b'), pg('c')],
      links: [
        { from: 'a', to: 'b', shape: 'cascade' },
        { from: 'b', to: 'c', shape: 'pair' },
      ],
    });
    assert.deepEqual(config.topology?.captureRules.c, {
      origins: { cdc_b__c: 'b', cdc_a__b__c: 'a' },
      drop: ['cdc_b__c', 'cdc_a__b__c'],
    });
    assert.deepEqual(config.topology?.captureRules.b?.drop, ['cdc_c__b']);
  });

  void test('pair a ⇄ b runs both ways, and each side drops what came from the other', () => {
    const config = parse({ nodes: [pg('a'), pg('b')], links: [{ from: 'a', to: 'b', shape: 'pair' }] });
    assert.deepEqual(
      config.replicas.map((r) => r.name),
      ['a-to-b', 'b-to-a'],
    );
    assert.deepEqual(config.topology?.captureRules, {
      a: { origins: { cdc_b__a: 'b' }, drop: ['cdc_b__a'] },
      b: { origins: { cdc_a__b: 'a' }, drop: ['cdc_a__b'] },
    });
  });

  void test('mesh of three: six apply workers, each node publishes only its own writes', () => {
    const config = parse({
      shape: 'mesh',
      nodes: [pg('a', { region: 'eu' }), pg('b', { region: 'us' }), pg('c', { region: 'ap' })],
      links: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
      ],
    });
    assert.equal(config.replicas.length, 6);
    assert.deepEqual(config.topology?.captureRules.a, {
      origins: { cdc_b__a: 'b', cdc_c__a: 'c' },
      drop: ['cdc_b__a', 'cdc_c__a'],
    });
  });

  void test('fan-in: one apply worker per shard, each with its own stream position; the replica is not captured', () => {
    const config = parse({
      shape: 'fan-in',
      nodes: [pg('shard1'), pg('shard2'), pg('hub')],
      links: [
        { from: 'shard1', to: 'hub', apply: { batch: { maxEvents: 100 } } },
        { from: 'shard2', to: 'hub' },
      ],
    });
    assert.deepEqual(
      config.sources.map((s) => s.name),
      ['shard1', 'shard2'],
    );
    assert.deepEqual(
      config.replicas.map((r) => [r.name, r.source, r.batch.maxEvents]),
      [
        ['shard1-to-hub', 'shard1', 100],
        ['shard2-to-hub', 'shard2', 5_000],
      ],
    );
  });

  void test('mixed pair PostgreSQL ⇄ MariaDB: MariaDB writes are recognized by the session server id', () => {
    const config = parse({
      shape: 'pair',
      nodes: [pg('pg'), maria('maria', { serverId: 1, gtidDomainId: 0 })],
      links: [{ from: 'pg', to: 'maria' }],
    });
    const serverId = String(defaultServerId('replica:pg-to-maria'));
    assert.deepEqual(config.topology?.captureRules, {
      pg: { origins: { cdc_maria__pg: 'maria' }, drop: ['cdc_maria__pg'] },
      maria: { origins: { [serverId]: 'pg' }, drop: [serverId] },
    });
    assert.equal(config.replicas.find((r) => r.name === 'pg-to-maria')?.kind, 'mariadb');
    assert.equal(config.replicas.find((r) => r.name === 'maria-to-pg')?.targetSchema, 'public');
  });

  void test('sources and replicas of the plain form work beside a topology', () => {
    const config = parseConfig(
      JSON.stringify({
        name: 'topo',
        kafka: { brokers: ['127.0.0.1:59092'] },
        sources: [pg('x')],
        replicas: [{ name: 'x-copy', source: 'x', kind: 'postgres', url: 'postgres://a@h/db' }],
        topology: { shape: 'cascade', nodes: [pg('a'), pg('b')], links: [{ from: 'a', to: 'b' }] },
      }),
      'json',
      { env: {} },
    );
    assert.deepEqual(
      config.replicas.map((r) => r.name),
      ['x-copy', 'a-to-b'],
    );
  });
});

void describe('invalid topologies are refused, naming the link or node', () => {
  void test('a cycle where the shape says cascade', () => {
    assert.deepEqual(
      problemsOf({
        shape: 'cascade',
        nodes: [pg('a'), pg('b'), pg('c')],
        links: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
          { from: 'c', to: 'a' },
        ],
      }),
      [
        'topology.links[0]: a → b (cascade) closes the cycle a → b → c → a: a cascade link must not lead back to its own start (for replication both ways use shape pair or mesh)',
        'topology.links[1]: b → c (cascade) closes the cycle b → c → a → b: a cascade link must not lead back to its own start (for replication both ways use shape pair or mesh)',
        'topology.links[2]: c → a (cascade) closes the cycle c → a → b → c: a cascade link must not lead back to its own start (for replication both ways use shape pair or mesh)',
      ],
    );
  });

  void test('a cascade leading back into a pair', () => {
    const problems = problemsOf({
      nodes: [pg('a'), pg('b')],
      links: [
        { from: 'a', to: 'b', shape: 'pair' },
        { from: 'a', to: 'b', shape: 'cascade' },
      ],
    });
    assert.ok(
      problems.includes(
        'topology.links[1]: a → b (cascade) repeats links[0] (a ⇄ b (pair)): a → b may be linked once',
      ),
      problems.join('\n'),
    );
  });

  void test('a link to an unknown node, and a link without a shape', () => {
    assert.deepEqual(
      problemsOf({
        nodes: [pg('a'), pg('b')],
        links: [
          { from: 'a', to: 'b', shape: 'cascade' },
          { from: 'b', to: 'z' },
        ],
      }),
      [
        'topology.links[1].shape: is required when topology.shape is not set (one of cascade, pair, mesh, fan-in)',
        'topology.links[1].to: names no node: "z" is not one of "a", "b"',
      ],
    );
  });

  void test('a mesh node without origins', () => {
    assert.deepEqual(
      problemsOf({
        shape: 'mesh',
        nodes: [pg('a'), pg('b', { origins: false })],
        links: [{ from: 'a', to: 'b' }],
      }),
      [
        'topology.nodes[1].origins: must be true: node b is in links[0] (a ⇄ b (mesh)), and without origins its capture cannot tell replicated writes from local ones, so they would be sent back (a loop)',
      ],
    );
  });

  void test('a mesh whose nodes are not all linked, and a "pair" of three', () => {
    assert.deepEqual(
      problemsOf({
        shape: 'pair',
        nodes: [pg('a'), pg('b'), pg('c')],
        links: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
        ],
      }),
      [
        'topology.links[0].shape: a ⇄ b (pair): a pair joins exactly two nodes, but a, b, c are joined both ways: use shape mesh',
        "topology.links[0]: mesh nodes a and c have no link between them: a mesh node does not forward what it received, so neither would get the other's changes (add { from: a, to: c, shape: mesh })",
      ],
    );
  });

  void test('MariaDB nodes of a mesh without a distinct server_id and gtid_domain_id', () => {
    assert.deepEqual(
      problemsOf({
        shape: 'mesh',
        nodes: [maria('m1', { serverId: 1, gtidDomainId: 1 }), maria('m2', { serverId: 1 }), pg('p')],
        links: [
          { from: 'm1', to: 'm2' },
          { from: 'm2', to: 'p' },
          { from: 'p', to: 'm1' },
        ],
      }),
      [
        'topology.nodes[1].serverId: 1 is also nodes[0].serverId (m1): each MariaDB/MySQL node is a server of its own, with a distinct server_id',
        "topology.nodes[1].gtidDomainId: is required: node m2 is in links[0] (m1 ⇄ m2 (mesh)), and each mariadb node of a pair or mesh needs its server's own gtid_domain_id, distinct from the other nodes'",
      ],
    );
  });

  void test("a node's capture settings and a link's apply settings are checked where they are written", () => {
    assert.deepEqual(
      problemsOf({
        shape: 'cascade',
        nodes: [pg('a', { url: 'mysql://x@y/z', capture: { snapshot: 'sometimes' } }), pg('b')],
        links: [{ from: 'a', to: 'b', apply: { onError: 'ignore' } }],
      }),
      [
        'topology.nodes[0].url: must use scheme postgres or postgresql, not "mysql"',
        'topology.nodes[0].capture.snapshot: must be "initial" or "never", not "sometimes"',
        'topology.links[0].apply.onError: must be "dead-letter" or "stop", not "ignore"',
      ],
    );
  });

  void test('a node named like a source, and no sources at all without a topology', () => {
    assert.deepEqual(
      problemsOf(
        { shape: 'cascade', nodes: [pg('a'), pg('b')], links: [{ from: 'a', to: 'b' }] },
        { sources: [pg('a')] },
      ),
      [
        'topology.nodes[0].name: "a" is also the name of a source in sources[]: a node feeding a link is captured as a source of that name',
      ],
    );
    assert.deepEqual(problemsOf(undefined), ['sources: must list at least one source']);
  });
});

void describe('the capture rule applied by the origin filter', () => {
  const event = (origin: string | null, index: number) =>
    ({
      op: 'c',
      table: { schema: 'public', table: 't' },
      source: { origin, position: { index } },
    }) as unknown as ChangeEvent;
  const commit = { kind: 'pg', lsn: 1n } as unknown as CaptureBatch['commit'];

  async function filtered(rule: NonNullable<PipelineConfig['topology']>['captureRules'][string]) {
    const batches: CaptureBatch[] = [
      { events: [event(null, 0)], commit },
      { events: [event('cdc_a__b', 0), event('cdc_a__b', 1)], commit },
      { events: [event('someone_else', 0)], commit },
    ];
    const inner = {
      name: 'b',
      async *stream() {
        for (const batch of batches) yield await Promise.resolve(batch);
      },
    } as unknown as SourceConnector;
    const filter = new OriginFilter(inner, rule);
    const out: (string | null)[][] = [];
    for await (const batch of filter.stream({ position: null, state: null }, new AbortController().signal))
      out.push(batch.events.map((e) => e.source.origin));
    return { out, dropped: filter.dropped };
  }

  void test('a cascade tier re-publishes what it applied, naming the node it came from', async () => {
    const config = parse({
      shape: 'cascade',
      nodes: [pg('a'), pg('b'), pg('c')],
      links: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    });
    const rule = config.topology?.captureRules.b;
    assert.ok(rule);
    assert.deepEqual(await filtered(rule), { out: [[null], ['a', 'a'], ['someone_else']], dropped: 0 });
  });

  void test('a pair node drops what came from the other side, whole, and keeps its commit', async () => {
    const config = parse({ shape: 'pair', nodes: [pg('a'), pg('b')], links: [{ from: 'a', to: 'b' }] });
    const rule = config.topology?.captureRules.b;
    assert.ok(rule);
    assert.deepEqual(await filtered(rule), { out: [[null], [], ['someone_else']], dropped: 2 });
  });
});
