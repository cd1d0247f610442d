/**
 * The `conflicts` section: on by default for pair and mesh links between PostgreSQL nodes, off for cascades
 * and plain replicas, refused on a MariaDB target, and its errors at their exact paths.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { conflictSettings } from '../../../services/pipeline/conflict-settings.ts';
import { configProblems } from '../../support/config-problems.ts';

const node = (name: string, kind = 'postgres') => ({
  name,
  kind,
  url: kind === 'postgres' ? `postgres://app:pw@db-${name}:5432/shop` : `mysql://app:pw@db-${name}:3306/shop`,
  ...(kind === 'mariadb' ? { serverId: name.charCodeAt(0), gtidDomainId: name.charCodeAt(0) } : {}),
});

function parse(extra: Record<string, unknown>): PipelineConfig {
  return parseConfig(
    JSON.stringify({ name: 'c', kafka: { brokers: ['127.0.0.1:59092'] }, ...extra }),
    'json',
    {
      env: {},
    },
  );
}

function problems(extra: Record<string, unknown>): string[] {
  return configProblems(JSON.stringify({ name: 'c', kafka: { brokers: ['127.0.0.1:59092'] }, ...extra }));
}

const source = { name: 'src', kind: 'postgres', url: 'postgres://app:pw@db:5432/shop' };

void describe('conflicts configuration', () => {
  void test('a PostgreSQL pair has conflict handling on for both directions, each naming its own node; a cascade has it off', () => {
    const pair = parse({
      topology: { shape: 'pair', nodes: [node('a'), node('b')], links: [{ from: 'a', to: 'b' }] },
    });
    const settings = pair.replicas.map((r) => conflictSettings(r));
    assert.deepEqual(
      settings.map((s) => [s?.localNode, s?.defaults.policy, s?.tombstoneRetentionMillis]),
      [
        ['b', 'last-writer-wins', 7 * 86_400_000],
        ['a', 'last-writer-wins', 7 * 86_400_000],
      ],
    );
    assert.deepEqual(Object.values(settings[0]?.originNodes ?? {}), ['a']);
    const cascade = parse({
      topology: { shape: 'cascade', nodes: [node('a'), node('b')], links: [{ from: 'a', to: 'b' }] },
    });
    assert.equal(conflictSettings(cascade.replicas[0]!), undefined);
  });

  void test("a link's local tables are its target node's captured tables, public.* by default", () => {
    const pair = parse({
      topology: {
        shape: 'pair',
        nodes: [node('a'), { ...node('b'), capture: { tables: ['shop.*', 'public.orders'] } }],
        links: [{ from: 'a', to: 'b' }],
      },
    });
    assert.deepEqual(
      pair.replicas.map((r) => [r.name, conflictSettings(r)?.localTables]),
      [
        [pair.replicas[0]!.name, ['shop.*', 'public.orders']],
        [pair.replicas[1]!.name, ['public.*']],
      ],
    );
  });

  void test('per-table and per-column policies, retention and resolver come through a link apply section', () => {
    const config = parse({
      topology: {
        shape: 'mesh',
        nodes: [node('a'), node('b')],
        links: [
          {
            from: 'a',
            to: 'b',
            apply: {
              conflicts: {
                tables: { 'public.stock': { policy: 'merge', columns: { qty: 'delta' } } },
                tombstoneRetention: '12h',
                resolver: './resolver.ts',
              },
            },
          },
        ],
      },
    });
    const settings = conflictSettings(config.replicas[0]!);
    assert.deepEqual(settings?.tables, { 'public.stock': { policy: 'merge', columns: { qty: 'delta' } } });
    assert.equal(settings?.tombstoneRetentionMillis, 12 * 3_600_000);
    assert.equal(settings?.resolverModule, './resolver.ts');
  });

  void test('refused: an originPriority naming a node the topology does not have, at its exact path', () => {
    assert.deepEqual(
      problems({
        topology: {
          shape: 'pair',
          nodes: [node('eu'), node('us')],
          links: [
            {
              from: 'eu',
              to: 'us',
              apply: { conflicts: { policy: 'origin-priority', originPriority: ['eu', 'usa'] } },
            },
          ],
        },
      }),
      [
        'topology.links[0].apply.conflicts.originPriority[1]: "usa" is not a node of the topology (nodes: eu, us)',
      ],
    );
  });

  void test('refused: conflicts on a MariaDB target, a custom policy without a resolver, origin priority without nodes, a bad retention', () => {
    assert.deepEqual(
      problems({
        sources: [source],
        replicas: [
          {
            name: 'r1',
            source: 'src',
            kind: 'mariadb',
            url: 'mysql://app:pw@db:3306/shop',
            conflicts: { enabled: true },
          },
          {
            name: 'r2',
            source: 'src',
            kind: 'postgres',
            url: 'postgres://app:pw@db2:5432/shop',
            conflicts: {
              enabled: true,
              tables: { 'public.t': { policy: 'custom' } },
              policy: 'origin-priority',
              tombstoneRetention: '7 days',
            },
          },
        ],
      }),
      [
        'replicas[0].conflicts.enabled: conflict handling is available on PostgreSQL targets only: MariaDB keeps no per-row commit time and origin to compare versions by (see docs/conflicts.md)',
        'replicas[1].conflicts.tombstoneRetention: must be a duration such as "7d", "12h", "30m", "90s"',
        'replicas[1].conflicts.resolver: is required when a policy is custom',
        'replicas[1].conflicts.originPriority: must list the nodes in order when a policy is origin-priority',
      ],
    );
  });

  void test('maxClockSkewMillis: 100 by default, set per link, refused below 0 at its exact path', () => {
    const pair = (conflicts?: Record<string, unknown>) => ({
      topology: {
        shape: 'pair',
        nodes: [node('a'), node('b')],
        links: [{ from: 'a', to: 'b', ...(conflicts ? { apply: { conflicts } } : {}) }],
      },
    });
    const skew = (config: PipelineConfig) =>
      config.replicas.map((r) => conflictSettings(r)?.maxClockSkewMillis);
    assert.deepEqual(skew(parse(pair())), [100, 100]);
    assert.deepEqual(skew(parse(pair({ maxClockSkewMillis: 2_000 }))), [2_000, 2_000]);
    // (Every error of a link's apply section is said once per direction today, hence the set.)
    assert.deepEqual(
      [...new Set(problems(pair({ maxClockSkewMillis: -1 })))],
      ['topology.links[0].apply.conflicts.maxClockSkewMillis: must be at least 0'],
    );
  });
});
