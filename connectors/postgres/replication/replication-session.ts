/**
 * One replication connection: START_REPLICATION on the slot through pg-logical-replication, messages handed
 * over in order through a bounded queue. The library's own acknowledgements are off (they confirm positions
 * nobody has made durable); keepalives that ask for a reply get the position `replyLsn` decides for them.
 */
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { formatLsn, parseLsn, type Lsn } from '../../../schemas/positions/lsn.ts';
import { CdcError, asCdcError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { CANONICAL_SESSION_OPTIONS, RAW_TEXT_TYPES } from '../types/pg-sql.ts';
import { MessageQueue } from './message-queue.ts';
import { installTupleReader } from './tuple-reader.ts';
import { postgresConnectOptions } from '../../../common/connect/postgres-url.ts';

export interface SessionMessage {
  /** WAL position of the message's record, in the library's text form. */
  readonly lsn: string;
  readonly message: Pgoutput.Message;
}

const rawText = (text: unknown): unknown => text;

/**
 * The application_name of a connector's replication connection: the name `synchronous_standby_names` lists to
 * make source commits wait for the capture (services/pipeline/synchronous-capture.ts).
 */
export function replicationApplicationName(connector: string): string {
  return `cdc:${connector}`;
}

/**
 * The parser picks each column's parser from pg's global type registry when a RELATION arrives; replacing
 * them on the (cached) relation keeps every value as raw text without touching the process-wide registry. Row
 * tuples are read by tuple-reader.ts.
 */
class RawTextPgoutputPlugin extends PgoutputPlugin {
  constructor(options: ConstructorParameters<typeof PgoutputPlugin>[0]) {
    super(options);
    // `parser` is private in the library's types, public in its code.
    installTupleReader((this as unknown as { parser: Parameters<typeof installTupleReader>[0] }).parser);
  }

  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation') for (const column of message.columns) column.parser = rawText;
    return message;
  }
}

export interface SessionOptions {
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  readonly applicationName: string;
  readonly logger: Logger;
  /**
   * The LSN to report as flushed when a keepalive asks, given the keepalive's WAL end (the library reports the
   * returned LSN + 1).
   */
  readonly replyLsn: (walEnd: Lsn) => Lsn;
  readonly queueCapacity: number;
}

export class ReplicationSession {
  readonly queue: MessageQueue<SessionMessage>;
  readonly #options: SessionOptions;
  readonly #service: LogicalReplicationService;
  #stopping = false;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.queue = new MessageQueue(options.queueCapacity, () => this.#socket()?.resume());
    // The library's own flow control is off: it queues every message a second time, behind a promise and an
    // await per message, while keepalives skip that queue; the keepalive reply (replyLsn) must know of every
    // message received before it. Without it each message reaches our queue as it is read, in order with the
    // keepalives, and a full queue pauses the socket instead.
    this.#service = new LogicalReplicationService(
      {
        ...postgresConnectOptions(options.url),
        types: RAW_TEXT_TYPES,
        options: CANONICAL_SESSION_OPTIONS,
        application_name: options.applicationName,
      },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
  }

  /** The replication connection's socket (the library keeps the pg connection in a field its types hide). */
  #socket(): { pause(): void; resume(): void } | undefined {
    const service = this.#service as unknown as {
      _connection: { stream?: { pause(): void; resume(): void } } | null;
    };
    return service._connection?.stream;
  }

  start(): void {
    const service = this.#service;
    service.on('data', (lsn: string, message: unknown) => {
      if (this.queue.put({ lsn, message: message as Pgoutput.Message })) this.#socket()?.pause();
    });
    service.on('heartbeat', async (lsn: string, _timestamp: number, shouldRespond: boolean) => {
      if (shouldRespond) await this.acknowledge(this.#options.replyLsn(parseLsn(lsn)));
    });
    service.on('error', (error: Error) => this.#fail(error));
    const plugin = new RawTextPgoutputPlugin({
      protoVersion: 1,
      publicationNames: [this.#options.publication],
      messages: true,
    });
    // 0/0 starts from the slot's confirmed_flush_lsn: the slot is the resume point across reconnects.
    service.subscribe(plugin, this.#options.slot, '0/0').then(
      () => this.#fail(new Error('replication stream ended')),
      (error: unknown) => this.#fail(error),
    );
  }

  /** Reports `lsn` as written and flushed; the server confirms up to lsn + 1. */
  /** Messages received and not yet taken by the stream. */
  get backlog(): number {
    return this.queue.size;
  }

  async acknowledge(lsn: Lsn): Promise<void> {
    if (this.#stopping) return;
    await this.#service.acknowledge(formatLsn(lsn));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.queue.close();
    await this.#service.destroy();
  }

  #fail(error: unknown): void {
    if (this.#stopping) return;
    this.#options.logger.warn({ err: error }, 'replication stream lost');
    this.queue.close(
      new CdcError(
        'SOURCE_STREAM_LOST',
        `replication stream on slot "${this.#options.slot}" lost: ${asCdcError(error, 'SOURCE_STREAM_LOST', 'stream').message}`,
        {
          slot: this.#options.slot,
        },
        { cause: error, retriable: true },
      ),
    );
  }
}
