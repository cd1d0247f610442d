/**
 * The targets the sink contract suite runs against: a PostgreSQL replica and a MariaDB replica, each in a
 * throwaway database, with what the suite needs to look at them and to break them.
 */
import pg from 'pg';
import type { TableSchema } from '../../../../schemas/events/table-schema.ts';
import type { MissingRowCount } from '../../../../services/apply/missing-rows.ts';
import { MysqlSink } from '../../../../services/apply/mysql/mysql-sink.ts';
import { PostgresSink, originName } from '../../../../services/apply/postgres/postgres-sink.ts';
import { positionRow } from '../../../../services/apply/position-rows.ts';
import type { Sink } from '../../../../services/apply/sink.ts';
import { stack, uniqueName } from '../../../support/stack.ts';
import { waitFor } from '../../../support/wait.ts';
import {
  createTargetDatabase as createMariadbDatabase,
  mariadbConnection,
} from '../../apply-mysql/harness.ts';
import { createTargetDatabase as createPostgresDatabase } from '../pg-target.ts';

export type ContractSink = Sink & { missingRows(): readonly MissingRowCount[] };

export interface OpenTarget {
  /** A stream name of its own for a test (and cleaned up with the target). */
  newStream(): string;
  /**
   * A new sink on this target, as one apply worker would have. `concurrent`: another sink of the same
   * stream stays connected (PostgreSQL lets one session at a time hold a stream's replication origin, which
   * refuses a second live session by itself; such sinks leave origins off).
   */
  newSink(options?: { readonly concurrent?: boolean }): ContractSink;
  /** Every row of the table's target, ordered by `id`, every value as text. */
  rows(table: TableSchema): Promise<Record<string, string | null>[]>;
  /** The applied position stored for `stream`, as text. */
  position(stream: string): Promise<string | null>;
  /**
   * Holds the row with key `id` of `table` locked in a transaction of its own until a sink's session waits
   * on it, then ends every sink session: the connection is lost in the middle of the sink's transaction.
   */
  interruptWriter(table: TableSchema, id: bigint): Promise<{ readonly done: Promise<void> }>;
  close(): Promise<void>;
}

export interface ContractTarget {
  readonly name: string;
  open(): Promise<OpenTarget>;
}

export const postgresTarget: ContractTarget = {
  name: 'PostgreSQL replica',
  async open() {
    const db = await createPostgresDatabase();
    const streams: string[] = [];
    const target = (table: TableSchema): string => `public.${pg.escapeIdentifier(table.table)}`;
    return {
      newStream() {
        const stream = uniqueName('s');
        streams.push(stream);
        return stream;
      },
      newSink: (options = {}) =>
        new PostgresSink({ url: db.url, replicationOrigin: options.concurrent !== true }),
      rows: (table) => db.query(`SELECT * FROM ${target(table)} ORDER BY id`),
      async position(stream) {
        const rows = await db.query('SELECT position FROM cdc_apply.applied_position WHERE stream = $1', [
          stream,
        ]);
        return rows[0]?.position ?? null;
      },
      async interruptWriter(table, id) {
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        await admin.query('BEGIN');
        await admin.query(`INSERT INTO ${target(table)} (id) VALUES ($1)`, [id.toString()]);
        const sessions = `FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cdc-apply'`;
        const done = (async () => {
          try {
            await waitFor('the apply session to wait on the row lock', async () => {
              const waiting = await admin.query(`SELECT pid ${sessions} AND wait_event_type = 'Lock'`);
              return waiting.rowCount === 1;
            });
            await admin.query(`SELECT pg_terminate_backend(pid) ${sessions}`);
            await admin.query('ROLLBACK');
          } finally {
            await admin.end();
          }
        })();
        return { done };
      },
      close: () => db.drop(streams.map(originName)),
    };
  },
};

export const mariadbTarget: ContractTarget = {
  name: 'MariaDB replica',
  async open() {
    const db = await createMariadbDatabase('contract');
    const target = (table: TableSchema): string => `\`${db.name}\`.\`${table.table}\``;
    return {
      // The database drops positions of streams named after it.
      newStream: () => uniqueName(db.name),
      newSink: () => new MysqlSink({ url: stack.mariadbUrl, flavor: 'mariadb', targetDatabase: db.name }),
      rows: (table) => db.rows(`SELECT * FROM ${target(table)} ORDER BY id`),
      async position(stream) {
        const rows = await db.rows('SELECT position FROM `cdc_apply`.`applied_position` WHERE stream = ?', [
          positionRow(stream, db.name),
        ]);
        return rows[0]?.position ?? null;
      },
      async interruptWriter(table, id) {
        const admin = await mariadbConnection();
        await admin.query('START TRANSACTION');
        await admin.query(`INSERT INTO ${target(table)} (id) VALUES (?)`, [id]);
        const done = (async () => {
          try {
            // The sink's insert of the same key waits for this transaction's lock.
            const waiting = await waitFor('the apply session to wait on the row lock', async () => {
              const [rows] = await admin.query(
                `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ?`,
                [`INSERT INTO ${target(table)}%`],
              );
              const ids = (rows as { id: number | string }[]).map((row) => row.id);
              return ids.length === 1 ? ids : null;
            });
            for (const session of waiting) await admin.query(`KILL CONNECTION ${Number(session)}`);
            await admin.query('ROLLBACK');
          } finally {
            await admin.end();
          }
        })();
        return { done };
      },
      close: () => db.drop(),
    };
  },
};
