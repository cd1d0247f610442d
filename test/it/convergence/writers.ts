/**
 * The randomized writers of a convergence test, one per region, over `items` (inserts, value updates, primary
 * key changes, deletes) and `counters` (increments). Each writer records what it committed, statement by
 * statement, only when the statement changed a row and the transaction committed, with the transaction's
 * commit time on PostgreSQL (track_commit_timestamp): the expectations (counter sums, deletes that won) are
 * computed from these records alone.
 *
 * Keys: with `hot` every region writes the same `HOT_KEYS` keys and counters (conflicts); otherwise region `r`
 * owns its own range of keys and the counters `id % regions = r` (no two regions touch one row).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { NodeDatabase } from '../topology/harness.ts';
import { seededRandom } from '../../support/workload.ts';

export const HOT_KEYS = 300;
export const COUNTERS = 20;

/** The same on every node, PostgreSQL or MariaDB: plain types that read back as the same text. */
export function schemaStatements(): string[] {
  const counters = Array.from({ length: COUNTERS }, (_, i) => `(${i + 1}, 0)`).join(', ');
  return [
    `CREATE TABLE items (id bigint PRIMARY KEY, val varchar(64) NOT NULL, region varchar(16) NOT NULL)`,
    `CREATE TABLE counters (id int PRIMARY KEY, total bigint NOT NULL)`,
    `INSERT INTO counters (id, total) VALUES ${counters}`,
  ];
}

export type Touch =
  | { readonly kind: 'write' | 'delete'; readonly key: number }
  | { readonly kind: 'increment'; readonly counter: number; readonly by: number };

export interface Committed {
  readonly region: string;
  /** Order of commit within the region's writer. */
  readonly seq: number;
  /** Commit time in microseconds (PostgreSQL), null on MariaDB. */
  readonly commitMicros: bigint | null;
  readonly touches: readonly Touch[];
}

export interface WriterOptions {
  readonly region: string;
  /** Index of the region among all (owns keys and counters by it unless `hot`). */
  readonly index: number;
  readonly regions: number;
  readonly hot: boolean;
  readonly seed: number;
  readonly transactions: number;
  /** Primary-key changes among the statements (default true). */
  readonly keyChanges?: boolean;
  /** Called after each commit (the chaos schedule paces itself on these). */
  readonly onCommit?: () => void;
  /** Awaited before each transaction: holds the writer while the chaos schedule lags behind it. */
  readonly gate?: () => Promise<void>;
}

interface Session {
  /** Runs one statement; answers how many rows it changed. */
  query(sql: string): Promise<number>;
  /** The open transaction's id (PostgreSQL), to read its commit time after COMMIT. */
  xid(): Promise<string | null>;
  commitMicros(xid: string | null): Promise<bigint | null>;
  close(): Promise<void>;
}

/** A session of its own for the writer: BEGIN and COMMIT must reach one connection. */
async function openSession(database: NodeDatabase): Promise<Session> {
  if (database.kind === 'postgres') {
    const client = new pg.Client({ connectionString: database.db.url });
    await client.connect();
    return {
      query: async (sql) => (await client.query(sql)).rowCount ?? 0,
      xid: async () =>
        String(
          (
            await client.query<{ x: string }>(
              `SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text AS x`,
            )
          ).rows[0]?.x,
        ),
      commitMicros: async (xid) => {
        const result = await client.query<{ us: string | null }>(
          `SELECT (extract(epoch FROM pg_xact_commit_timestamp($1::xid)) * 1000000)::bigint::text AS us`,
          [xid],
        );
        const us = result.rows[0]?.us;
        return us === null || us === undefined ? null : BigInt(us);
      },
      close: () => client.end(),
    };
  }
  const url = new URL(database.db.url);
  const connection = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database.db.name,
  });
  return {
    query: async (sql) => {
      const [result] = await connection.query(sql);
      return (result as { affectedRows?: number }).affectedRows ?? 0;
    },
    xid: () => Promise.resolve(null),
    commitMicros: () => Promise.resolve(null),
    close: () => connection.end(),
  };
}

/** Runs `transactions` transactions in the node's database, and answers what committed. */
export async function runWriter(database: NodeDatabase, options: WriterOptions): Promise<Committed[]> {
  const random = seededRandom(options.seed);
  const pick = (n: number) => Math.floor(random() * n);
  const base = options.hot ? 0 : (options.index + 1) * 1_000_000;
  const key = () => base + 1 + pick(HOT_KEYS);
  const counter = (): number => {
    if (options.hot) return 1 + pick(COUNTERS);
    const own = Array.from({ length: COUNTERS }, (_, i) => i + 1).filter(
      (id) => id % options.regions === options.index % options.regions,
    );
    return own[pick(own.length)] ?? 1;
  };
  const insert =
    database.kind === 'postgres'
      ? (id: number, val: string) =>
          `INSERT INTO items (id, val, region) VALUES (${id}, '${val}', '${options.region}') ON CONFLICT DO NOTHING`
      : (id: number, val: string) =>
          `INSERT IGNORE INTO items (id, val, region) VALUES (${id}, '${val}', '${options.region}')`;

  const committed: Committed[] = [];
  const session = await openSession(database);
  try {
    for (let seq = 0; seq < options.transactions; seq++) {
      await options.gate?.();
      const touches: Touch[] = [];
      await session.query('BEGIN');
      try {
        for (let s = 1 + pick(3); s > 0; s--) {
          const roll = pick(100);
          const id = key();
          const val = `${options.region}-${seq}-${pick(1e6)}`;
          if (roll < 30) {
            if ((await session.query(insert(id, val))) > 0) touches.push({ kind: 'write', key: id });
          } else if (roll < 55) {
            const changed = await session.query(
              `UPDATE items SET val = '${val}', region = '${options.region}' WHERE id = ${id}`,
            );
            if (changed > 0) touches.push({ kind: 'write', key: id });
          } else if (roll < 65 && options.keyChanges !== false) {
            // A primary-key change: the row moves to another key (a unique violation rolls the transaction back).
            const to = key();
            if (to !== id && (await session.query(`UPDATE items SET id = ${to} WHERE id = ${id}`)) > 0)
              touches.push({ kind: 'delete', key: id }, { kind: 'write', key: to });
          } else if (roll < 80) {
            if ((await session.query(`DELETE FROM items WHERE id = ${id}`)) > 0)
              touches.push({ kind: 'delete', key: id });
          } else {
            const c = counter();
            const by = 1 + pick(9);
            if ((await session.query(`UPDATE counters SET total = total + ${by} WHERE id = ${c}`)) > 0)
              touches.push({ kind: 'increment', counter: c, by });
          }
        }
        const xid = await session.xid();
        await session.query('COMMIT');
        committed.push({
          region: options.region,
          seq,
          commitMicros: await session.commitMicros(xid),
          touches,
        });
        options.onCommit?.();
      } catch (error) {
        await session.query('ROLLBACK');
        if (!isAbandoned(error)) throw error;
      }
    }
  } finally {
    await session.close();
  }
  return committed;
}

/**
 * A transaction the writer gives up, as an application would (nothing of it committed, so nothing is recorded):
 * a unique violation of a key change, or a deadlock with another writer or with an apply worker writing the
 * same rows in another order (the database picks one victim).
 */
function isAbandoned(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return ['23505', 'ER_DUP_ENTRY', '40P01', '40001', 'ER_LOCK_DEADLOCK'].includes(String(code));
}

/** What the writers' records say the nodes must show. */
export interface Expected {
  /** Counter id → the sum of all committed increments. */
  readonly counters: ReadonlyMap<number, bigint>;
  /** Keys whose last change (latest commit; one writer per key without `hot`) removed them. */
  readonly removed: readonly number[];
  readonly transactions: number;
}

export function expectations(all: readonly Committed[], hot: boolean): Expected {
  const counters = new Map<number, bigint>();
  const last = new Map<number, { kind: 'write' | 'delete'; order: string }>();
  const order = (c: Committed, i: number): string =>
    hot
      ? `${String(c.commitMicros ?? 0n).padStart(20, '0')}|${c.region}|${String(i).padStart(3, '0')}`
      : `${String(c.seq).padStart(9, '0')}|${String(i).padStart(3, '0')}`;
  for (const c of all)
    c.touches.forEach((touch, i) => {
      if (touch.kind === 'increment') {
        counters.set(touch.counter, (counters.get(touch.counter) ?? 0n) + BigInt(touch.by));
        return;
      }
      const seen = last.get(touch.key);
      const at = order(c, i);
      if (seen === undefined || at > seen.order) last.set(touch.key, { kind: touch.kind, order: at });
    });
  const removed = [...last].filter(([, v]) => v.kind === 'delete').map(([k]) => k);
  return { counters, removed, transactions: all.length };
}
