/**
 * Two regions as two databases, for conflict tests on PostgreSQL. Each region writes locally (real commits, with
 * their real commit times), and the other region's sink gets the change as capture would publish it (same
 * commit time, the writing node as connector): `replicate`. Tests apply two conflicting changes in opposite
 * orders on the two nodes and check that both end with the same row (`converged`), and what was recorded.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import { PostgresSink } from '../../../services/apply/postgres/postgres-sink.ts';
import { readConflicts, type ConflictRecord } from '../../../services/apply/conflicts/conflict-log.ts';
import type { ConflictSettings } from '../../../services/apply/conflicts/types.ts';
import type { EventFailure } from '../../../services/apply/sink.ts';
import { PostgresConnection } from '../../../services/apply/postgres/postgres-connection.ts';
import { silentLogger } from '../../../common/logger.ts';
import { uniqueName } from '../../support/stack.ts';
import { column, pgTable, transaction, type Change } from '../../unit/apply/events.ts';
import { createTargetDatabase, type TargetDatabase } from './pg-target.ts';

export type Node = 'a' | 'b';

/** One region: its database, and the sink of the link from the other region into it. */
export interface Region {
  readonly node: Node;
  readonly db: TargetDatabase;
  readonly origin: string;
  sink: PostgresSink;
  lsn: bigint;
}

export const regions = {} as Record<Node, Region>;
export const other = (node: Node): Node => (node === 'a' ? 'b' : 'a');

/** The sink of the link into `region` from `from` (by default the other region). */
export function sinkInto(
  region: Pick<Region, 'node' | 'db' | 'origin'>,
  settings: Partial<ConflictSettings> = {},
  from: string = other(region.node),
): PostgresSink {
  return new PostgresSink({
    url: region.db.url,
    originName: region.origin,
    conflicts: {
      localNode: region.node,
      defaults: { policy: 'last-writer-wins', columns: {} },
      tables: {},
      originPriority: [],
      tombstoneRetentionMillis: 7 * 24 * 3600_000,
      originNodes: { [region.origin]: from },
      ...settings,
    },
  });
}

/** Gives both regions new sinks with these conflict settings. */
export async function configure(settings: Partial<ConflictSettings>): Promise<void> {
  for (const node of ['a', 'b'] as const) {
    await regions[node].sink.close();
    regions[node].sink = sinkInto(regions[node], settings);
  }
}

/** Creates the two regions before the file's tests and drops them after. */
export function useTwoRegions(): void {
  before(async () => {
    for (const node of ['a', 'b'] as const) {
      const db = await createTargetDatabase();
      const origin = uniqueName(`cdc_${other(node)}__${node}`);
      regions[node] = { node, db, origin, sink: sinkInto({ node, db, origin }), lsn: 0x100n };
    }
  });

  after(async () => {
    for (const region of Object.values(regions)) {
      await region.sink.close();
      await region.db.drop([region.origin]);
    }
  });
}

export function itemsTable(): TableSchema {
  return {
    ...pgTable(
      'public',
      uniqueName('items'),
      [
        column('id', 'bigint', { kind: 'int64' }, false),
        column('qty', 'integer', { kind: 'int32' }),
        column('note', 'text', { kind: 'text' }),
      ],
      ['id'],
    ),
    beforeImage: 'full',
  };
}

/** Applies changes written at `from` (committed there at `micros`) to the other region; returns dead letters. */
export async function replicate(
  from: Node,
  micros: bigint,
  changes: readonly Change[],
): Promise<EventFailure[]> {
  const to = regions[other(from)];
  to.lsn += 0x100n;
  const failures: EventFailure[] = [];
  await applyAs(to.sink, from, to.lsn, micros, changes, (failure) => {
    failures.push(failure);
    return Promise.resolve();
  });
  return failures;
}

/**
 * Applies changes committed at node `from` at `micros` (one source transaction at `lsn`) through `sink`: event
 * by event with `onEventFailure`, else as one batch (consecutive inserts go out together).
 */
export async function applyAs(
  sink: PostgresSink,
  from: string,
  lsn: bigint,
  micros: bigint,
  changes: readonly Change[],
  onEventFailure?: (failure: EventFailure) => Promise<void>,
): Promise<void> {
  const events: ChangeEvent[] = transaction(lsn, changes, { connector: from }).map((event) => ({
    ...event,
    source: { ...event.source, commitTimeMicros: micros },
  }));
  const batch = [{ commit: events[0]!.source.position.commit, events, complete: true }];
  await sink.apply(from, batch, onEventFailure ? { onEventFailure } : undefined);
}

/** Runs a local write at a region; returns its commit time in microseconds. */
export async function local(node: Node, text: string, values: unknown[] = []): Promise<bigint> {
  const db = regions[node].db;
  await db.query('BEGIN');
  await db.query(text, values);
  const [xid] = await db.query('SELECT pg_current_xact_id()::text AS xid');
  await db.query('COMMIT');
  const [row] = await db.query(
    'SELECT (extract(epoch FROM pg_xact_commit_timestamp($1::xid8::xid)) * 1000000)::bigint AS micros',
    [xid!.xid],
  );
  return BigInt(row!.micros!);
}

/** Seeds rows in both regions as if replicated long ago (so the sinks created the table and its trigger). */
export async function seed(table: TableSchema, rows: readonly Row[]): Promise<void> {
  const old = 1_600_000_000_000_000n;
  for (const from of ['a', 'b'] as const)
    await replicate(
      from,
      old,
      rows.map((after) => ({ op: 'c', table, after })),
    );
}

export async function rowOf(
  node: Node,
  table: TableSchema,
  id: number,
): Promise<Record<string, string | null> | null> {
  const rows = await regions[node].db.query(
    `SELECT id, qty, note FROM public."${table.table}" WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function conflicts(node: Node, table: TableSchema): Promise<ConflictRecord[]> {
  const connection = await PostgresConnection.open(regions[node].db.url, silentLogger);
  try {
    return await readConflicts(connection, { table: `public.${table.table}`, limit: 100 });
  } finally {
    await connection.close();
  }
}

/** A recorded JSON column as an object. */
export const json = (text: string | null): Record<string, unknown> =>
  JSON.parse(text ?? 'null') as Record<string, unknown>;

export const pick = (record: ConflictRecord) => ({
  kind: record.kind,
  policy: record.policy,
  outcome: record.outcome,
});

/** Both regions hold the same row for `id` (or none). */
export async function converged(
  table: TableSchema,
  id: number,
): Promise<Record<string, string | null> | null> {
  const [a, b] = [await rowOf('a', table, id), await rowOf('b', table, id)];
  assert.deepEqual(a, b, `row ${id} differs between the regions`);
  return a;
}
