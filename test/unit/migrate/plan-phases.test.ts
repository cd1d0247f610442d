/**
 * The migration's pure parts: what a configuration must say to be a migration (and the error naming what is
 * wrong), the names of the reverse path, the phase read from capture and apply status, and the origin filter
 * dropping forward-origin transactions while keeping their commit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CaptureBatch, ConnectorStatus, SourceConnector } from '../../../connectors/connector.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { ApplyWorkerStatus } from '../../../services/api/status-types.ts';
import { CdcError } from '../../../common/errors.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { OriginFilter } from '../../../services/pipeline/origin-filter.ts';
import { formatPhase, migrationPhase } from '../../../services/migrate/phases.ts';
import { migrationPlan, reverseConfig } from '../../../services/migrate/plan.ts';

function config(replica: Record<string, unknown> = {}, source: Record<string, unknown> = {}) {
  return parseConfig(
    JSON.stringify({
      name: 'm',
      kafka: { brokers: ['127.0.0.1:9092'] },
      sources: [{ name: 'shop', kind: 'mariadb', url: 'mysql://root@db:3306/shop', ...source }],
      replicas: [{ name: 'pg', source: 'shop', kind: 'postgres', url: 'postgres://pg/new', ...replica }],
    }),
    'json',
  );
}

void describe('migration plan', () => {
  void test('derives the reverse path from the forward pair', () => {
    const plan = migrationPlan(config());
    assert.deepEqual(plan.schemas, ['shop']);
    assert.equal(plan.forwardOrigin, 'cdc_shop__pg');
    assert.equal(plan.reverse.slot, 'cdc_pg_back');
    const reverse = reverseConfig(plan);
    assert.equal(reverse.sources[0]?.kind, 'postgres');
    assert.equal(reverse.sources[0]?.url, 'postgres://pg/new');
    assert.deepEqual(reverse.sources[0]?.tables, ['shop.*']);
    assert.equal(reverse.sources[0]?.snapshot, 'never');
    assert.equal(reverse.replicas[0]?.kind, 'mariadb');
    assert.equal(reverse.replicas[0]?.url, 'mysql://root@db:3306/shop');
  });

  void test('refuses a replica without origins, naming the field and why', () => {
    assert.throws(
      () => migrationPlan(config({ origin: false })),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'MIGRATION_INVALID' &&
        /origin must be true/.test(error.message),
    );
  });

  void test('refuses a source with a keyed changelog: cutover needs one applied position', () => {
    assert.throws(
      () => migrationPlan(config({ onError: 'stop' }, { changelog: { mode: 'keyed', partitions: 4 } })),
      /changelog\.mode must be "ordered": cutover waits until the replica's applied position covers/,
    );
  });

  void test('refuses a source without the initial copy', () => {
    assert.throws(() => migrationPlan(config({}, { snapshot: 'never' })), /snapshot must be "initial"/);
  });

  void test('refuses a source with column rules: the new primary must hold every value', () => {
    assert.throws(
      () => migrationPlan(config({}, { columns: { 'shop.users': { exclude: ['ssn'] } } })),
      /source shop: columns must not be set: a migration copies every value/,
    );
  });
});

const connector = (over: Partial<ConnectorStatus>): ConnectorStatus => ({
  name: 'shop',
  kind: 'mariadb',
  state: 'streaming',
  stream: 'binlog',
  confirmed: null,
  received: null,
  lagBytes: null,
  lagMillis: null,
  snapshot: null,
  lastError: null,
  ...over,
});
const worker = (over: Partial<ApplyWorkerStatus>): ApplyWorkerStatus => ({
  name: 'pg',
  source: 'shop',
  state: 'running',
  appliedPosition: null,
  lagMillis: null,
  endToEndLagMillis: null,
  hopLagMillis: null,
  backlogEvents: null,
  eventsApplied: 0,
  transactionsApplied: 0,
  errors: 0,
  deadLetters: 0,
  lastError: null,
  ...over,
});

void describe('migration phase', () => {
  void test('copying shows rows done of the total, then lag decides catching-up or in-sync', () => {
    const snapshot = {
      table: 'shop.orders',
      tablesDone: 0,
      tablesTotal: 2,
      rowsDone: 500,
      rowsTotal: 2000,
      rowsPerSecond: 1000,
      done: false,
    };
    const copying = migrationPhase(connector({ state: 'snapshotting', snapshot }), worker({}), 1000);
    assert.equal(
      formatPhase(copying),
      'copying: 500/2000 rows read (25%), table shop.orders, 0 changes applied',
    );
    const done = { ...snapshot, done: true, rowsDone: 2000 };
    assert.equal(
      migrationPhase(connector({ snapshot: done }), worker({ lagMillis: 5000 }), 1000).phase,
      'catching-up',
    );
    // A worker between batches reads lag 0: until the copy has been applied that is not in sync.
    assert.equal(
      migrationPhase(connector({ snapshot: done }), worker({ lagMillis: 0, eventsApplied: 0 }), 1000).phase,
      'catching-up',
    );
    assert.equal(
      migrationPhase(connector({ snapshot: done }), worker({ lagMillis: 300, eventsApplied: 2100 }), 1000)
        .phase,
      'in-sync',
    );
    const failed = migrationPhase(
      connector({ state: 'failed', lastError: 'binlog purged' }),
      worker({}),
      1000,
    );
    assert.equal(formatPhase(failed), 'failed: binlog purged');
  });
});

async function* batchesOf(batches: readonly CaptureBatch[]): AsyncGenerator<CaptureBatch> {
  for (const batch of batches) yield await Promise.resolve(batch);
}

void describe('origin filter', () => {
  void test('drops forward-origin transactions whole and keeps their commit as a heartbeat', async () => {
    const event = (origin: string | null, index: number) =>
      ({
        op: 'c',
        table: { schema: 'public', table: 'orders' },
        source: { origin, position: { index } },
      }) as unknown as ChangeEvent;
    const commit = { kind: 'binlog', flavor: 'mariadb', gtidSet: '0-1-1', seq: 1n } as const;
    const batches: CaptureBatch[] = [
      { events: [event('cdc_shop', 0), event('cdc_shop', 1)], commit },
      { events: [event(null, 0)], commit },
    ];
    const inner = {
      name: 'pg-back',
      stream: () => batchesOf(batches),
    } as unknown as SourceConnector;
    const filter = new OriginFilter(inner, { origins: {}, drop: ['cdc_shop'] });
    const out: CaptureBatch[] = [];
    for await (const batch of filter.stream({ position: null, state: null }, new AbortController().signal))
      out.push(batch);
    assert.deepEqual(
      out.map((batch) => [batch.events.length, batch.commit]),
      [
        [0, commit],
        [1, commit],
      ],
    );
    assert.equal(filter.dropped, 2);
  });
});
