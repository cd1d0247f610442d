/**
 * The MariaDB/MySQL sink: applies many source transactions in one target transaction, with the stream's
 * applied position (`cdc_apply`.`applied_position`) written in the same transaction, so after any crash a
 * redelivered event at or before that position is recognized and skipped.
 *
 * DDL commits implicitly on these servers. When a table must be created or changed in the middle of a batch,
 * the sink first commits what it wrote so far together with the position of the last event written, runs the
 * DDL, and opens a new target transaction: every commit still carries its exact position.
 *
 * Origin marking (optional): the binlog connector reports a change's origin as the binlog event's server id
 * when it differs from the source server's own `@@server_id` (connectors/mysql/README.md). Writing with a
 * session `server_id` of our own therefore marks every replicated row change, so capture on this replica can
 * tell them from local writes (mesh loop prevention). It needs BINLOG REPLAY (MariaDB) or SUPER.
 */
import mysql, { type Connection } from 'mysql2/promise';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import {
  comparePosition,
  formatPosition,
  parsePosition,
  type EventPosition,
} from '../../../schemas/positions/position.ts';
import { CdcError, isRetriable } from '../../../common/errors.ts';
import { silentLogger, type Logger } from '../../../common/logger.ts';
import type { ApplyOptions, ApplyResult, EventFailure, Sink, SourceTransaction } from '../sink.ts';
import { RowWriter } from './row-writer.ts';
import type { Flavor } from './sql.ts';
import { TableShapes, type TableShape } from './table-shapes.ts';
import { classifyTargetError } from './target-errors.ts';

export interface MysqlSinkOptions {
  /** `mysql://user:password@host:port/`; the path, if any, is ignored (see targetDatabase). */
  readonly url: string;
  /** Puts every target table in this database instead of the source's schema (or MySQL database) name. */
  readonly targetDatabase?: string;
  readonly flavor: Flavor;
  /** Session server_id for replicated writes (origin marking); off when absent. */
  readonly originServerId?: number;
  readonly logger?: Logger;
}

type Item = { readonly event: ChangeEvent; readonly transactionIndex: number; readonly eventIndex: number };

/** The target transaction in progress: whether one is open, and the last event handled inside it. */
interface Progress {
  readonly stream: string;
  open: boolean;
  handled: ChangeEvent | null;
}

const SESSION_SQL_MODE = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';

export class MysqlSink implements Sink {
  private readonly options: MysqlSinkOptions;
  private readonly logger: Logger;
  private readonly shapes: TableShapes;
  private readonly writer = new RowWriter();
  private readonly positions = new Map<string, EventPosition | null>();
  private connection: Connection | null = null;
  private broken = false;
  private prepared = false;

  constructor(options: MysqlSinkOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'mysql-sink' });
    this.shapes = new TableShapes(
      (table) => ({ database: options.targetDatabase ?? table.schema, table: table.table }),
      options.flavor,
      this.logger,
    );
  }

  async prepare(): Promise<void> {
    const connection = await this.connect();
    try {
      await connection.query('CREATE DATABASE IF NOT EXISTS `cdc_apply` CHARACTER SET utf8mb4');
      await connection.query(`CREATE TABLE IF NOT EXISTS \`cdc_apply\`.\`applied_position\` (
        stream varchar(255) NOT NULL PRIMARY KEY,
        position text NOT NULL,
        commit_time_micros bigint,
        applied_at timestamp(6) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
      this.prepared = true;
    } catch (error) {
      throw this.classify(error, 'cannot create the applied-position table cdc_apply.applied_position');
    }
  }

  async appliedPosition(stream: string): Promise<EventPosition | null> {
    if (this.positions.has(stream)) return this.positions.get(stream) ?? null;
    const connection = await this.connect();
    try {
      const [rows] = await connection.query(
        'SELECT position FROM `cdc_apply`.`applied_position` WHERE stream = ?',
        [stream],
      );
      const text = (rows as { position?: unknown }[])[0]?.position;
      const position = typeof text === 'string' ? parsePosition(text) : null;
      this.positions.set(stream, position);
      return position;
    } catch (error) {
      throw this.classify(error, `cannot read the applied position of stream ${stream}`);
    }
  }

  async apply(
    stream: string,
    transactions: readonly SourceTransaction[],
    options: ApplyOptions = {},
  ): Promise<ApplyResult> {
    if (!this.prepared) await this.prepare();
    const key = options.positionKey ?? stream;
    let floor = await this.appliedPosition(key);
    const fresh: Item[] = [];
    let skipped = 0;
    transactions.forEach((transaction, transactionIndex) => {
      transaction.events.forEach((event, eventIndex) => {
        if (floor !== null && comparePosition(event.source.position, floor) <= 0) {
          skipped++;
          return;
        }
        floor = event.source.position;
        fresh.push({ event, transactionIndex, eventIndex });
      });
    });
    const last = fresh.at(-1)?.event;
    if (!last) return { applied: 0, skipped, failed: 0, position: null, commitTimeMicros: null };

    const connection = await this.connect();
    const progress: Progress = { stream: key, open: false, handled: null };
    let failed = 0;
    try {
      if (options.onEventFailure)
        failed = await this.writeIsolated(connection, progress, fresh, options.onEventFailure);
      else await this.writeBatch(connection, progress, fresh);
      await this.commit(connection, progress);
    } catch (error) {
      await this.rollback(connection, progress);
      if (error instanceof CdcError) throw error;
      throw this.classifyBatch(
        error,
        fresh.map((item) => item.event),
      );
    }
    return {
      applied: fresh.length - failed,
      skipped,
      failed,
      position: last.source.position,
      commitTimeMicros: last.source.commitTimeMicros,
    };
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.end();
  }

  private async writeBatch(
    connection: Connection,
    progress: Progress,
    items: readonly Item[],
  ): Promise<void> {
    let i = 0;
    while (i < items.length) {
      const event = items[i]!.event;
      const shape = await this.shapeFor(connection, progress, event);
      let j = i + 1;
      try {
        if (event.op === 'c' || event.op === 'r') {
          while (
            j < items.length &&
            items[j]!.event.op === event.op &&
            this.shapes.lookup(items[j]!.event.table) === shape
          )
            j++;
          await this.writer.insertGroup(
            shape,
            items.slice(i, j).map((item) => item.event),
          );
        } else {
          await this.writer.write(shape, event);
        }
      } catch (error) {
        throw j - i === 1 ? this.classifyEvent(error, event) : error;
      }
      progress.handled = items[j - 1]!.event;
      i = j;
    }
  }

  /** Each event under a savepoint; a failing one is rolled back alone and handed over. Returns how many failed. */
  private async writeIsolated(
    connection: Connection,
    progress: Progress,
    items: readonly Item[],
    onEventFailure: (failure: EventFailure) => Promise<void>,
  ): Promise<number> {
    let failed = 0;
    for (const item of items) {
      try {
        const shape = await this.shapeFor(connection, progress, item.event);
        await connection.query('SAVEPOINT cdc_event');
        try {
          await this.writer.write(shape, item.event);
        } catch (error) {
          const failure = this.classifyEvent(error, item.event);
          if (!failure.retriable) await connection.query('ROLLBACK TO SAVEPOINT cdc_event');
          throw failure;
        }
        await connection.query('RELEASE SAVEPOINT cdc_event');
      } catch (error) {
        const failure = this.classifyEvent(error, item.event);
        if (failure.retriable) throw failure;
        failed++;
        await onEventFailure({ ...item, error: failure });
        await this.begin(connection, progress);
      }
      progress.handled = item.event;
    }
    return failed;
  }

  /** The event's table shape; creating or changing the table first commits what the open transaction holds. */
  private async shapeFor(
    connection: Connection,
    progress: Progress,
    event: ChangeEvent,
  ): Promise<TableShape> {
    let shape = this.shapes.lookup(event.table);
    if (!shape) {
      await this.commit(connection, progress);
      shape = await this.shapes.ensure(connection, event.table);
    }
    await this.begin(connection, progress);
    return shape;
  }

  private async begin(connection: Connection, progress: Progress): Promise<void> {
    if (progress.open) return;
    await connection.query('START TRANSACTION');
    progress.open = true;
  }

  /** Writes the position of the last event handled and commits; nothing to do when no transaction is open. */
  private async commit(connection: Connection, progress: Progress): Promise<void> {
    if (!progress.open) return;
    const handled = progress.handled;
    if (handled) {
      await connection.query(
        `INSERT INTO \`cdc_apply\`.\`applied_position\` (stream, position, commit_time_micros, applied_at) VALUES (?, ?, ?, NOW(6))
         ON DUPLICATE KEY UPDATE position = VALUES(position), commit_time_micros = VALUES(commit_time_micros), applied_at = VALUES(applied_at)`,
        [progress.stream, formatPosition(handled.source.position), handled.source.commitTimeMicros],
      );
    }
    await connection.query('COMMIT');
    progress.open = false;
    if (handled) this.positions.set(progress.stream, handled.source.position);
    progress.handled = null;
  }

  private async rollback(connection: Connection, progress: Progress): Promise<void> {
    progress.handled = null;
    if (!progress.open || this.broken) return;
    progress.open = false;
    try {
      await connection.query('ROLLBACK');
    } catch (error) {
      // The connection cannot even roll back: use a new one next time (the server rolls back with the session).
      this.broken = true;
      this.logger.warn({ err: error }, 'rollback failed; reconnecting');
    }
  }

  private async connect(): Promise<Connection> {
    if (this.connection && !this.broken) return this.connection;
    if (this.connection) {
      const old = this.connection;
      this.connection = null;
      // The old session is gone already; destroying it only releases the socket.
      old.destroy();
    }
    const url = new URL(this.options.url);
    let connection: Connection;
    try {
      connection = await mysql.createConnection({
        host: url.hostname,
        port: url.port === '' ? 3306 : Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        charset: 'utf8mb4',
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        timezone: 'Z',
      });
    } catch (error) {
      throw new CdcError(
        'TARGET_UNREACHABLE',
        `cannot connect to the target database: ${error instanceof Error ? error.message : String(error)}`,
        {},
        { cause: error, retriable: true },
      );
    }
    connection.on('error', (error: unknown) => {
      if (this.connection === connection) this.broken = true;
      this.logger.warn({ err: error }, 'target connection failed');
    });
    try {
      // UTC, so TIMESTAMP columns of MySQL sources take the connector's UTC text as it is; strict, so a value
      // the column cannot hold fails (and is dead-lettered) instead of being truncated.
      await connection.query(
        `SET SESSION time_zone = '+00:00', sql_mode = ?, explicit_defaults_for_timestamp = ON`,
        [SESSION_SQL_MODE],
      );
      if (this.options.originServerId !== undefined)
        await this.markOrigin(connection, this.options.originServerId);
    } catch (error) {
      connection.destroy();
      throw error instanceof CdcError ? error : this.classify(error, 'cannot set up the target session');
    }
    this.connection = connection;
    this.broken = false;
    this.positions.clear();
    this.shapes.reset();
    this.writer.attach(connection);
    return connection;
  }

  private async markOrigin(connection: Connection, serverId: number): Promise<void> {
    try {
      await connection.query('SET SESSION server_id = ?', [serverId]);
    } catch (error) {
      const cause = classifyTargetError(error, 'setting the session server_id failed', {}, false);
      if (isRetriable(cause)) throw cause;
      throw new CdcError(
        'APPLY_FAILED',
        `cannot mark replicated writes with server_id ${serverId} (needs BINLOG REPLAY on MariaDB or SUPER on MySQL; or turn origin marking off): ${cause.message}`,
        { serverId },
        { cause: error },
      );
    }
  }

  private classify(error: unknown, message: string): CdcError {
    return classifyTargetError(error, message, {}, this.broken);
  }

  private classifyEvent(error: unknown, event: ChangeEvent): CdcError {
    if (error instanceof CdcError) return error;
    const position = formatPosition(event.source.position);
    const table = `${this.options.targetDatabase ?? event.table.schema}.${event.table.table}`;
    return classifyTargetError(
      error,
      `cannot apply ${opName(event)} at ${position} to ${table}`,
      { table, position },
      this.broken,
    );
  }

  private classifyBatch(error: unknown, events: readonly ChangeEvent[]): CdcError {
    const first = formatPosition(events[0]!.source.position);
    const last = formatPosition(events.at(-1)!.source.position);
    return classifyTargetError(
      error,
      `cannot apply events ${first} .. ${last}`,
      { from: first, to: last },
      this.broken,
    );
  }
}

function opName(event: ChangeEvent): string {
  return { c: 'insert', r: 'snapshot read', u: 'update', d: 'delete', t: 'truncate' }[event.op];
}
