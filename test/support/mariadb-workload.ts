/**
 * A randomized write workload on a MariaDB source, the binlog counterpart of workload.ts: inserts (some turning
 * into updates through ON DUPLICATE KEY UPDATE), updates (including primary-key changes), deletes, an occasional
 * TRUNCATE (its own implicit commit in MariaDB) and large transactions. Seeded, so a failing run can be replayed.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage } from '../../common/errors.ts';
import type { MariadbTestDatabase } from './mariadb.ts';
import { waitForMariadb } from './mariadb.ts';
import { seededRandom, type WorkloadOptions } from './workload.ts';

export const MARIADB_WORKLOAD_SCHEMA = `
  CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    owner varchar(100) NOT NULL,
    balance decimal(20,4) NOT NULL,
    note text,
    flags set('a','b','c'),
    big_u bigint unsigned,
    updated_at datetime(6) NOT NULL
  );
  CREATE TABLE events (
    seq bigint AUTO_INCREMENT PRIMARY KEY,
    account_id bigint,
    kind varchar(20) NOT NULL,
    payload json,
    at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    raw varbinary(32)
  );
`;

export const MARIADB_WORKLOAD_TABLES = [
  { name: 'accounts', key: 'id' },
  { name: 'events', key: 'seq' },
] as const;

/** Seed rows, so the snapshot has something to copy. */
export const MARIADB_WORKLOAD_SEED = `
  INSERT INTO accounts (id, owner, balance, note, flags, big_u, updated_at)
    SELECT seq, CONCAT('seed-', seq), seq * 1.25, IF(seq % 20 = 0, REPEAT('seed-note ', 500), NULL), 'a',
           18446744073709551615 - seq, '2024-01-01 00:00:00.000001'
    FROM seq_1_to_300;
  INSERT INTO events (account_id, kind, payload, at) VALUES (1, 'seed', '{"seed": true}', '2024-01-01 00:00:00.000001');
`;

export interface MariadbWorkloadOptions extends WorkloadOptions {
  /**
   * Keep going when the server goes away (a restart): wait until it answers, then carry on. A transaction cut
   * off at its commit may or may not have committed, which only a state comparison can judge.
   */
  readonly survivesRestart?: boolean;
  /** Called after each TRUNCATE committed (MariaDB triggers do not fire on TRUNCATE; an audit records it). */
  readonly afterTruncate?: (table: string) => Promise<void>;
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Runs the workload; returns how many transactions committed (as far as the client knows). */
export async function runMariadbWorkload(
  db: MariadbTestDatabase,
  options: MariadbWorkloadOptions,
): Promise<number> {
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
    let truncate = false;
    for (let s = 0; s < size; s++) {
      const roll = pick(100);
      const id = 1 + pick(400);
      if (roll < 35) {
        const owner = quote(`owner-${pick(1e6)}-'q"\\`);
        const note = pick(10) === 0 ? `REPEAT('note-${pick(1000)} ', 800)` : 'NULL';
        statements.push(
          `INSERT INTO accounts (id, owner, balance, note, flags, big_u, updated_at) VALUES (${id}, ${owner}, ${pick(1e7)}.${pick(10000)}, ${note}, '${['a', 'b', 'a,c', ''][pick(4)]}', ${pick(2) === 0 ? '18446744073709551615' : String(pick(1e9))}, NOW(6))
           ON DUPLICATE KEY UPDATE balance = VALUES(balance), owner = VALUES(owner), updated_at = VALUES(updated_at)`,
        );
      } else if (roll < 60) {
        statements.push(
          `UPDATE accounts SET balance = balance + ${pick(100)}.5, updated_at = NOW(6) WHERE id = ${id}`,
        );
      } else if (roll < 65) {
        nextId++;
        statements.push(`UPDATE accounts SET id = ${nextId} WHERE id <= 400 ORDER BY id LIMIT 1`);
      } else if (roll < 75) {
        statements.push(`DELETE FROM accounts WHERE id = ${id}`);
      } else if (roll < 99 || !options.truncates) {
        statements.push(
          `INSERT INTO events (account_id, kind, payload, at, raw) VALUES (${id}, 'k${pick(5)}', '{"n": ${pick(1e9)}, "s": "x\\\\"y"}', '2024-02-29 12:34:56.${String(pick(1e6)).padStart(6, '0')}', X'${pick(
            2 ** 30,
          )
            .toString(16)
            .padStart(8, '0')}00ff')`,
        );
      } else {
        truncate = true;
      }
    }
    try {
      if (statements.length > 0) await commitRetryingDeadlocks(db, statements);
      committed++;
      if (truncate) {
        await db.query(`TRUNCATE events`);
        await options.afterTruncate?.('events');
      }
    } catch (error) {
      if (!options.survivesRestart) throw error;
      // The server went away (or is starting): the transaction is rolled back or committed, never half done.
      await waitForMariadb().catch((waitError: unknown) => {
        throw new Error(`MariaDB did not come back after ${errorMessage(error)}: ${errorMessage(waitError)}`);
      });
    }
    if (options.pauseMs !== undefined && options.pauseMs > 0) await delay(options.pauseMs);
  }
  return committed;
}

/** ER_LOCK_DEADLOCK: the server picked this transaction as the victim (of row or metadata locks). */
const DEADLOCK = 1213;

/**
 * Runs the statements as one transaction, again when the server chose it as a deadlock victim, as an application
 * does (pgbench's --max-tries): the DDL the tests run meanwhile and the snapshot's locks can make one. Each
 * attempt starts with a ROLLBACK on the pooled connection it gets: whatever a failed attempt left open there is
 * discarded, not committed by the next START TRANSACTION, so each transaction commits once, whole.
 */
async function commitRetryingDeadlocks(
  db: MariadbTestDatabase,
  statements: readonly string[],
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query(`ROLLBACK; START TRANSACTION; ${statements.join(';\n')}; COMMIT`);
      return;
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== DEADLOCK || attempt >= 10) throw error;
    }
  }
}
