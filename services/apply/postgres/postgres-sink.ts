/**
 * The PostgreSQL sink: applies many source transactions in one target transaction, with the stream's applied
 * position (`cdc_apply.applied_position`) written in the same transaction, so after any crash a redelivered
 * event at or before that position is recognized and skipped. Commits are marked with the replication origin
 * `cdc_<stream>` so capture on this replica can tell replicated writes from local ones.
 */
import pg from 'pg';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import {
  comparePosition,
  formatPosition,
  parsePosition,
  type EventPosition,
} from '../../../schemas/positions/position.ts';
import { formatLsn } from '../../../schemas/positions/lsn.ts';
import { CdcError } from '../../../common/errors.ts';
import { silentLogger, type Logger } from '../../../common/logger.ts';
import type { ApplyOptions, ApplyResult, Sink, SourceTransaction } from '../sink.ts';
import { classifyTargetError } from './target-errors.ts';
import { RowWriter } from './row-writer.ts';
import { TableShapes } from './table-shapes.ts';
import { microsToTimestamp } from './sql.ts';

export interface PostgresSinkOptions {
  readonly url: string;
  /** Puts every target table in this schema instead of the source's schema (or MySQL database) name. */
  readonly targetSchema?: string;
  /** Marks applied commits with the replication origin `cdc_<stream>` (needs superuser or EXECUTE on the origin functions). */
  readonly replicationOrigin?: boolean;
  readonly logger?: Logger;
}

/** Every value read back stays the server's text: nothing is rounded into a JavaScript number or Date. */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export function originName(stream: string): string {
  return `cdc_${stream}`;
}

export class PostgresSink implements Sink {
  private readonly options: PostgresSinkOptions;
  private readonly logger: Logger;
  private readonly shapes: TableShapes;
  private readonly writer: RowWriter;
  private readonly positions = new Map<string, EventPosition | null>();
  private client: pg.Client | null = null;
  private broken = false;
  private sessionOrigin: string | null = null;
  private prepared = false;

  constructor(options: PostgresSinkOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger).child({ component: 'postgres-sink' });
    this.shapes = new TableShapes(
      (table) => ({ schema: options.targetSchema ?? table.schema, table: table.table }),
      this.logger,
    );
    this.writer = new RowWriter(this.shapes);
  }

  async prepare(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('CREATE SCHEMA IF NOT EXISTS cdc_apply');
      await client.query(`CREATE TABLE IF NOT EXISTS cdc_apply.applied_position (
        stream text PRIMARY KEY,
        position text NOT NULL,
        commit_time_micros bigint,
        applied_at timestamptz DEFAULT now())`);
      this.prepared = true;
    } catch (error) {
      throw this.classify(error, 'cannot create the applied-position table cdc_apply.applied_position');
    }
  }

  async appliedPosition(stream: string): Promise<EventPosition | null> {
    if (this.positions.has(stream)) return this.positions.get(stream) ?? null;
    const client = await this.connect();
    try {
      const result = await client.query<{ position: string }>(
        'SELECT position FROM cdc_apply.applied_position WHERE stream = $1',
        [stream],
      );
      const text = result.rows[0]?.position;
      const position = text === undefined ? null : parsePosition(text);
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
    const fresh: { event: ChangeEvent; transactionIndex: number; eventIndex: number }[] = [];
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

    const client = await this.connect();
    await this.setupOrigin(client, stream);
    try {
      await this.shapes.ensureEnums(client, distinctTables(fresh.map((f) => f.event)));
    } catch (error) {
      throw this.classify(error, `cannot create the enum types of ${stream}`);
    }

    let failed = 0;
    try {
      await client.query('BEGIN');
      if (this.sessionOrigin !== null) {
        const commit = last.source.position.commit;
        const lsn = commit.kind === 'pg' ? formatLsn(commit.lsn) : '0/0';
        await client.query('SELECT pg_replication_origin_xact_setup($1::pg_lsn, $2::timestamptz)', [
          lsn,
          microsToTimestamp(last.source.commitTimeMicros),
        ]);
      }
      const onEventFailure = options.onEventFailure;
      if (!onEventFailure) {
        await this.writer.writeAll(fresh.map((f) => f.event));
      } else {
        for (const item of fresh) {
          await client.query('SAVEPOINT cdc_event');
          try {
            await this.writer.write(item.event);
            await client.query('RELEASE SAVEPOINT cdc_event');
          } catch (error) {
            const failure = this.classifyEvent(error, item.event);
            if (failure.retriable) throw failure;
            await client.query('ROLLBACK TO SAVEPOINT cdc_event');
            this.shapes.discardPending();
            failed++;
            await onEventFailure({ ...item, error: failure });
          }
        }
      }
      await client.query(
        `INSERT INTO cdc_apply.applied_position (stream, position, commit_time_micros, applied_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, commit_time_micros = EXCLUDED.commit_time_micros, applied_at = now()`,
        [key, formatPosition(last.source.position), last.source.commitTimeMicros.toString()],
      );
      await client.query('COMMIT');
    } catch (error) {
      await this.rollback(client);
      if (error instanceof CdcError) throw error;
      throw this.classifyBatch(
        error,
        fresh.map((f) => f.event),
      );
    }
    this.shapes.commit();
    this.positions.set(key, last.source.position);
    return {
      applied: fresh.length - failed,
      skipped,
      failed,
      position: last.source.position,
      commitTimeMicros: last.source.commitTimeMicros,
    };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.sessionOrigin = null;
    if (client) await client.end();
  }

  private async connect(): Promise<pg.Client> {
    if (this.client && !this.broken) return this.client;
    if (this.client) {
      const old = this.client;
      this.client = null;
      // The old session is already gone; ending it only releases the socket, and its error says nothing new.
      await old
        .end()
        .catch((error: unknown) =>
          this.logger.debug({ err: error }, 'closing a broken target connection failed'),
        );
    }
    const client = new pg.Client({
      connectionString: this.options.url,
      types: TEXT_TYPES,
      application_name: 'cdc-apply',
    });
    client.on('error', (error) => {
      this.broken = true;
      this.logger.warn({ err: error }, 'target connection failed');
    });
    client.on('end', () => {
      if (this.client === client) this.broken = true;
    });
    try {
      await client.connect();
    } catch (error) {
      throw new CdcError(
        'TARGET_UNREACHABLE',
        `cannot connect to the target database: ${errorText(error)}`,
        {},
        { cause: error, retriable: true },
      );
    }
    this.client = client;
    this.broken = false;
    this.sessionOrigin = null;
    this.positions.clear();
    this.shapes.reset();
    this.writer.attach(client);
    return client;
  }

  private async setupOrigin(client: pg.Client, stream: string): Promise<void> {
    if (this.options.replicationOrigin === false) return;
    const name = originName(stream);
    if (this.sessionOrigin === name) return;
    try {
      if (this.sessionOrigin !== null) await client.query('SELECT pg_replication_origin_session_reset()');
      this.sessionOrigin = null;
      await client.query(
        'SELECT pg_replication_origin_create($1) WHERE pg_replication_origin_oid($1) IS NULL',
        [name],
      );
      await client.query('SELECT pg_replication_origin_session_setup($1)', [name]);
      this.sessionOrigin = name;
    } catch (error) {
      throw this.classify(
        error,
        `cannot set up the replication origin ${name} (needs superuser or EXECUTE on pg_replication_origin_*; only one worker per stream)`,
      );
    }
  }

  private async rollback(client: pg.Client): Promise<void> {
    this.shapes.discardPending();
    if (this.broken) return;
    try {
      await client.query('ROLLBACK');
    } catch (error) {
      // The connection cannot even roll back: use a new one next time, which also rolls back server-side.
      this.broken = true;
      this.logger.warn({ err: error }, 'rollback failed; reconnecting');
    }
  }

  private classify(error: unknown, message: string): CdcError {
    return classifyTargetError(error, message, {}, this.broken);
  }

  private classifyEvent(error: unknown, event: ChangeEvent): CdcError {
    if (error instanceof CdcError) return error;
    const position = formatPosition(event.source.position);
    const table = `${this.options.targetSchema ?? event.table.schema}.${event.table.table}`;
    return classifyTargetError(
      error,
      `cannot apply ${opName(event)} at ${position} to ${table}${columnsNote(error, event)}`,
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

/**
 * PostgreSQL names a value it cannot take (`date/time field value out of range: "0000-00-00"`) but not the
 * column: the columns of the event's row holding exactly that text are named, so the dead letter says which.
 */
function columnsNote(error: unknown, event: ChangeEvent): string {
  if (!(error instanceof Error)) return '';
  const quoted = /: "(.*)"$/s.exec(error.message)?.[1];
  if (quoted === undefined) return '';
  const row = event.after ?? event.before ?? {};
  const columns = Object.keys(row).filter((name) => row[name] === quoted);
  return columns.length === 0 ? '' : ` (column ${columns.join(', ')})`;
}

function opName(event: ChangeEvent): string {
  return { c: 'insert', r: 'snapshot read', u: 'update', d: 'delete', t: 'truncate' }[event.op];
}

function distinctTables(events: readonly ChangeEvent[]): Set<TableSchema> {
  return new Set(events.map((event) => event.table));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
