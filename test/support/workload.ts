/**
 * A randomized write workload on a PostgreSQL source: inserts, updates (including primary-key changes and
 * TOASTed values left unchanged), deletes, an occasional truncate, and large transactions. Seeded, so a failing
 * run can be replayed with the printed seed.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { TestDatabase } from './pg.ts';

export const WORKLOAD_SCHEMA = `
  CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    owner text NOT NULL,
    balance numeric(20,4) NOT NULL,
    big_note text,
    tags text[],
    updated_at timestamptz(6) NOT NULL DEFAULT now()
  );
  CREATE TABLE events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint,
    kind text NOT NULL,
    payload jsonb,
    at timestamp(6) NOT NULL
  );
`;

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadOptions {
  readonly transactions: number;
  readonly seed: number;
  /** Allow TRUNCATE of the events table now and then. */
  readonly truncates?: boolean;
  /** Stop early when this aborts. */
  readonly signal?: AbortSignal;
  /** Pause between transactions, to keep a long-running workload at a steady pace rather than flat out. */
  readonly pauseMs?: number;
}

/** Runs the workload; returns how many transactions committed. */
export async function runWorkload(db: TestDatabase, options: WorkloadOptions): Promise<number> {
  const random = seededRandom(options.seed);
  const pick = (n: number) => Math.floor(random() * n);
  let committed = 0;
  // Keys moved out of 1..400 go to a range of their own per seed: two runs of one test (seed, seed + 1, ...)
  // never pick the same new key.
  let nextId = 1_000_000 + (Math.abs(Math.trunc(options.seed)) % 10_000) * 100_000;
  for (let i = 0; i < options.transactions && !options.signal?.aborted; i++) {
    const statements: string[] = [];
    const large = pick(40) === 0;
    const size = large ? 800 + pick(400) : 1 + pick(6);
    for (let s = 0; s < size; s++) {
      const roll = pick(100);
      const id = 1 + pick(400);
      if (roll < 35) {
        const owner = `owner-${pick(1e6)}-'q"`;
        const note = pick(10) === 0 ? `repeat('toast-${pick(1000)}', 2000)` : 'NULL';
        statements.push(
          `INSERT INTO accounts (id, owner, balance, big_note, tags) VALUES (${id}, '${owner.replace(/'/g, "''")}', ${pick(1e7)}.${pick(10000)}, ${note}, ARRAY['a${pick(9)}', NULL, 'b"c'])
           ON CONFLICT (id) DO UPDATE SET balance = EXCLUDED.balance, owner = EXCLUDED.owner`,
        );
      } else if (roll < 60) {
        // Leaves big_note (often TOASTed) unchanged: the replica must keep it.
        statements.push(
          `UPDATE accounts SET balance = balance + ${pick(100)}.5, updated_at = now() WHERE id = ${id}`,
        );
      } else if (roll < 65) {
        nextId++;
        statements.push(
          `UPDATE accounts SET id = ${nextId} WHERE id = (SELECT min(id) FROM accounts WHERE id <= 400)`,
        );
      } else if (roll < 75) {
        statements.push(`DELETE FROM accounts WHERE id = ${id}`);
      } else if (roll < 99 || !options.truncates) {
        statements.push(
          `INSERT INTO events (account_id, kind, payload, at) VALUES (${id}, 'k${pick(5)}', '{"n": ${pick(1e9)}, "s": "x\\"y"}', '2024-02-29 12:34:56.${String(pick(1e6)).padStart(6, '0')}')`,
        );
      } else {
        statements.push(`TRUNCATE events`);
      }
    }
    await db.query(`BEGIN; ${statements.join(';\n')}; COMMIT;`);
    committed++;
    if (options.pauseMs !== undefined && options.pauseMs > 0) await delay(options.pauseMs);
  }
  return committed;
}
