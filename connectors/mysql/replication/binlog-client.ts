/**
 * Our small interface over the binlog client library (@vlasky/zongji): it opens a binlog dump from a GTID
 * position and hands over typed, flavor-neutral messages as an async iterator. Nothing else in the connector
 * imports the library. Datetimes arrive as text (dateStrings, UTC), never through a JS Date.
 *
 * The library pushes events as fast as the socket delivers them; the queue here pauses the socket above a
 * bound in bytes (READ_AHEAD_BYTES) so a slow consumer cannot make memory grow with the source's backlog.
 */
import ZongJi, {
  type AnyBinlogEvent,
  type BinlogEventByTypeName,
  type BinlogEventTypeName,
} from '@vlasky/zongji';
import { CdcError } from '../../../common/errors.ts';
import { isTransientMysqlError } from './transient.ts';
import type { MysqlConnectOptions } from '../../../common/connect/mysql-url.ts';

export type RawRow = Readonly<Record<string, unknown>>;

/** A column as the binlog's own table map describes it (binlog_row_metadata=FULL). */
export interface BinlogColumn {
  readonly name: string;
  /** Approximate COLUMN_TYPE rebuilt from binlog metadata (no display widths). */
  readonly columnType: string;
  readonly unsigned: boolean | undefined;
}

export type BinlogMessage =
  /** A transaction (or a standalone statement such as DDL) starts. */
  | {
      readonly kind: 'gtid';
      readonly gtid: string;
      readonly serverId: number;
      readonly standalone: boolean;
      readonly timestampMs: number;
      /** Where the GTID event ends in the binlog: the transaction starts just before it. */
      readonly at: BinlogCoordinate | null;
    }
  | {
      readonly kind: 'rows';
      readonly op: 'insert' | 'update' | 'delete';
      readonly database: string;
      readonly table: string;
      /** The row image's columns as written, which the catalog may no longer match when DDL followed. */
      readonly columns: readonly BinlogColumn[];
      readonly primaryKey: readonly string[] | null;
      readonly rows: readonly RawRow[] | readonly { readonly before: RawRow; readonly after: RawRow }[];
      readonly timestampMs: number;
    }
  | { readonly kind: 'query'; readonly database: string; readonly sql: string; readonly timestampMs: number }
  /** The transaction commits; file/offset is the binlog coordinate just after it. */
  | {
      readonly kind: 'commit';
      readonly timestampMs: number;
      readonly file: string | undefined;
      readonly offset: number;
    }
  | {
      readonly kind: 'heartbeat';
      readonly timestampMs: number;
      /** The end of the binlog: everything before it has been sent. */
      readonly at: BinlogCoordinate | null;
    };

/** A place in the binlog files: file name and byte offset. */
export interface BinlogCoordinate {
  readonly file: string;
  readonly offset: number;
}

export interface BinlogClientOptions extends MysqlConnectOptions {
  /** Replica server id presented to the source; unique among its replicas. */
  readonly serverId: number;
  /** GTID position to start after (formatted MariaDB position or MySQL set). */
  readonly gtidSet: string;
  /** Databases whose row events are wanted. */
  readonly databases: readonly string[];
  /** The server sends a heartbeat after this long without events, so an idle stream still moves. */
  readonly heartbeatPeriodMs?: number;
  /** `net_write_timeout` of the dump connection, in seconds; the server's when absent. */
  readonly writeTimeoutSeconds?: number | undefined;
}

/**
 * Read-ahead bound: the socket pauses once the queue holds this many bytes of binlog events (or this many
 * messages, for runs of tiny ones) and resumes when it has drained to a quarter. Bytes, not messages: a row event
 * carries up to a few KiB of rows (hundreds of small ones), which decode to roughly ten times that in JS objects,
 * so a bound of 5,000 messages let a catch-up hold about a million decoded rows. 1 MiB is still tens of thousands
 * of small rows, far more than the consumer takes while a paused socket refills from the kernel's buffer.
 */
export const READ_AHEAD_BYTES = 1024 * 1024;
export const READ_AHEAD_MESSAGES = 5000;

interface Queued {
  readonly message: BinlogMessage;
  /** Size of the binlog event(s) it came from. */
  readonly bytes: number;
}

function is<N extends BinlogEventTypeName>(
  event: AnyBinlogEvent,
  name: N,
): event is BinlogEventByTypeName<N> {
  return event.getTypeName() === name;
}

/** Pausable socket of the library's binlog connection (mysql2 Connection has pause/resume). */
interface Pausable {
  pause(): void;
  resume(): void;
}

function pausable(value: unknown): Pausable | null {
  if (typeof value === 'object' && value !== null && 'pause' in value && 'resume' in value) {
    const candidate = value;
    if (typeof candidate.pause === 'function' && typeof candidate.resume === 'function')
      return value as Pausable;
  }
  return null;
}

export class BinlogClient {
  readonly #options: BinlogClientOptions;
  readonly #queue: Queued[] = [];
  #queuedBytes = 0;
  #error: CdcError | null = null;
  #ended = false;
  #wake: (() => void) | null = null;
  #paused = false;
  #zongji: ZongJi | null = null;
  /** Primary-key column indexes by binlog table id, from the table maps. */
  readonly #primaryKeys = new Map<number, readonly number[]>();

  constructor(options: BinlogClientOptions) {
    this.#options = options;
  }

  /** Opens the dump; resolves once the server accepted the start position. */
  async start(): Promise<void> {
    const options = this.#options;
    const zongji = new ZongJi({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      // zongji hands its options to mysql2 for both of its connections, so TLS is mysql2's `ssl`.
      ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
      dateStrings: true,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
    });
    this.#zongji = zongji;
    const ready = new Promise<void>((resolve, reject) => {
      zongji.once('ready', () => resolve());
      zongji.on('error', (error: Error) => {
        const wrapped =
          positionRefused(error, options) ??
          new CdcError(
            'SOURCE_STREAM_LOST',
            `binlog stream failed: ${error.message}`,
            {},
            { cause: error, retriable: isTransientMysqlError(error) },
          );
        reject(wrapped);
        this.#fail(wrapped);
      });
    });
    zongji.on('binlog', (event: AnyBinlogEvent) => this.#onEvent(event));
    zongji.on('stopped', () => this.#finish());
    zongji.start({
      serverId: options.serverId,
      gtidSet: options.gtidSet,
      includeSchema: Object.fromEntries(options.databases.map((db) => [db, true as const])),
      includeEvents: [
        'mariadbgtid',
        'gtid',
        'tablemap',
        'writerows',
        'updaterows',
        'deleterows',
        'query',
        'xid',
        'heartbeat',
      ],
    });
    // Queued on the dump connection ahead of zongji's own preamble, so it is in force when the dump starts;
    // a failure surfaces as the connection's error.
    if (options.heartbeatPeriodMs !== undefined) {
      const nanoseconds = BigInt(Math.max(1, Math.round(options.heartbeatPeriodMs))) * 1_000_000n;
      zongji.connection?.query(`SET @master_heartbeat_period = ${nanoseconds}`, () => undefined);
    }
    if (options.writeTimeoutSeconds !== undefined) {
      const seconds = Math.max(1, Math.round(options.writeTimeoutSeconds));
      zongji.connection?.query(`SET SESSION net_write_timeout = ${seconds}`, () => undefined);
    }
    await ready;
  }

  /** Connection id of the dump thread on the source (shown in SHOW PROCESSLIST). */
  get threadId(): number | null {
    const connection: unknown = this.#zongji?.connection;
    if (typeof connection === 'object' && connection !== null && 'threadId' in connection) {
      const id = connection.threadId;
      return typeof id === 'number' ? id : null;
    }
    return null;
  }

  #onEvent(event: AnyBinlogEvent): void {
    const message = this.#translate(event);
    if (message === null) return;
    this.#queue.push({ message, bytes: event.size });
    this.#queuedBytes += event.size;
    if (
      !this.#paused &&
      (this.#queuedBytes >= READ_AHEAD_BYTES || this.#queue.length >= READ_AHEAD_MESSAGES)
    ) {
      const socket = pausable(this.#zongji?.connection);
      if (socket) {
        socket.pause();
        this.#paused = true;
      }
    }
    this.#notify();
  }

  /** The current binlog file (zongji follows rotate events) at `offset`; null before the first rotate. */
  #coordinate(offset: number): BinlogCoordinate | null {
    const file = this.#zongji?.options.filename;
    return typeof file === 'string' && file !== '' && offset > 0 ? { file, offset } : null;
  }

  #translate(event: AnyBinlogEvent): BinlogMessage | null {
    const timestampMs = event.timestamp;
    if (is(event, 'MariadbGtid'))
      return {
        kind: 'gtid',
        gtid: event.gtid,
        serverId: event.serverId,
        standalone: event.standalone,
        timestampMs,
        at: this.#coordinate(event.nextPosition),
      };
    // MySQL: standalone is decided by whether a BEGIN query follows.
    if (is(event, 'Gtid'))
      return {
        kind: 'gtid',
        gtid: event.gtid,
        serverId: 0,
        standalone: false,
        timestampMs,
        at: this.#coordinate(event.nextPosition),
      };
    if (is(event, 'Query')) return { kind: 'query', database: event.schema, sql: event.query, timestampMs };
    if (is(event, 'Xid')) {
      return {
        kind: 'commit',
        timestampMs,
        file: this.#zongji?.options.filename,
        offset: event.nextPosition,
      };
    }
    if (is(event, 'Heartbeat'))
      return {
        kind: 'heartbeat',
        timestampMs,
        at:
          event.binlogName && event.nextPosition > 0
            ? { file: event.binlogName, offset: event.nextPosition }
            : null,
      };
    if (is(event, 'TableMap')) {
      if (event.primaryKey) this.#primaryKeys.set(event.tableId, event.primaryKey);
      return null;
    }
    if (is(event, 'WriteRows') || is(event, 'UpdateRows') || is(event, 'DeleteRows')) {
      const table = event.tableMap[event.tableId];
      if (!table) {
        this.#fail(new CdcError('DECODE_FAILED', `row event for unknown table id ${event.tableId}`, {}));
        return null;
      }
      const op = is(event, 'WriteRows') ? 'insert' : is(event, 'UpdateRows') ? 'update' : 'delete';
      const columns = table.columnSchemas.map((c) => ({
        name: c.COLUMN_NAME,
        columnType: c.COLUMN_TYPE,
        unsigned: c.UNSIGNED,
      }));
      const keyIndexes = this.#primaryKeys.get(event.tableId);
      const primaryKey = keyIndexes ? keyIndexes.map((i) => columns[i]?.name ?? '') : null;
      return {
        kind: 'rows',
        op,
        database: table.parentSchema,
        table: table.tableName,
        columns,
        primaryKey,
        rows: event.rows,
        timestampMs,
      };
    }
    return null;
  }

  #fail(error: CdcError): void {
    if (this.#error === null) this.#error = error;
    this.#notify();
  }

  #finish(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Messages in binlog order; throws the stream's error once everything before it was taken. */
  async *messages(signal: AbortSignal): AsyncGenerator<BinlogMessage> {
    const onAbort = (): void => this.#notify();
    signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        const queued = this.#queue.shift();
        if (queued !== undefined) {
          this.#queuedBytes -= queued.bytes;
          if (
            this.#paused &&
            this.#queuedBytes <= READ_AHEAD_BYTES / 4 &&
            this.#queue.length <= READ_AHEAD_MESSAGES / 4
          ) {
            this.#paused = false;
            pausable(this.#zongji?.connection)?.resume();
          }
          yield queued.message;
          continue;
        }
        if (signal.aborted) return;
        if (this.#error) throw this.#error;
        if (this.#ended) throw new CdcError('SOURCE_STREAM_LOST', 'binlog stream ended', {});
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Messages already received and not yet taken. */
  get backlog(): number {
    return this.#queue.length;
  }

  /** Binlog bytes of the messages in `backlog`. */
  get backlogBytes(): number {
    return this.#queuedBytes;
  }

  /** Whether reading from the socket is paused because the backlog reached the read-ahead bound. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Ends the stream with `error` once the messages already received are taken (the server is left for another). */
  abandon(error: CdcError): void {
    this.#fail(error);
    this.stop();
  }

  stop(): void {
    const zongji = this.#zongji;
    this.#zongji = null;
    this.#ended = true;
    zongji?.stop();
    this.#notify();
  }
}

/**
 * The server's refusal to start the dump at the GTID position asked for (ER_MASTER_FATAL_ERROR_READING_BINLOG,
 * 1236, naming a GTID): with gtid_strict_mode a server that lacks the position says so here (the binlog misses
 * the GTID, or it was purged). A reconnect cannot fix it.
 */
function positionRefused(error: Error, options: BinlogClientOptions): CdcError | null {
  const errno = (error as { errno?: unknown }).errno;
  if (errno !== 1236 || !/GTID/i.test(error.message)) return null;
  const server = `${options.host}:${options.port}`;
  return new CdcError(
    'SOURCE_POSITION_MISSING',
    `the binlog of ${server} does not hold GTID position ${options.gtidSet}, where capture must resume (the server says: ${error.message}): the transactions there never reached this server, or its binlog was purged; capture stops rather than skip them. Bring back the server that had them, or re-snapshot the replicas`,
    { server, gtid: options.gtidSet },
    { cause: error },
  );
}
