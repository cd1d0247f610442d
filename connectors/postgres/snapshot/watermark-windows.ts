/**
 * The stream side of the watermark algorithm (DBLog): between a chunk's LOW and HIGH watermarks, every
 * streamed event of the chunk's table is kept; at HIGH the chunk's rows are folded with those events
 * (chunk-fold.ts) and yielded, positioned at the HIGH watermark, after every event they were folded with.
 *
 * LOW is not an exact boundary for what the chunk's SELECT saw. PostgreSQL writes a transaction's commit
 * record first, flushes it, and only then makes the transaction visible; a transaction whose commit record
 * precedes LOW can still be invisible to the chunk's snapshot, taken just after LOW. Its changes precede LOW
 * in the stream yet are missing from the chunk, so the window also keeps the events it sees between
 * prepare() and LOW, and at HIGH folds in those of transactions the chunk's snapshot did not see. A
 * transaction the stream had already passed before prepare() had its commit record flushed and sent before
 * the chunk began; it usually becomes visible right after that flush, well before LOW is written and the
 * snapshot taken. Usually: a backend descheduled between the flush and clearing its ProcArray entry (a loaded
 * machine) stays invisible for longer, so while a snapshot runs the recent changes of each table are
 * remembered too (RECENT_MS) and folded in the same way when the chunk's snapshot did not see them.
 */
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { ConnectorState } from '../../connector.ts';
import type { PgTable } from '../types/catalog.ts';
import { foldChunk } from './chunk-fold.ts';
import { foldKeyless } from './keyless-fold.ts';
import { sawTransaction, type XidSnapshot } from './xid-snapshot.ts';

export interface ChunkRows {
  readonly rows: readonly Row[];
  /** The MVCC snapshot the chunk was read in: which transactions its rows include. */
  readonly snapshot: XidSnapshot;
  /** State to save once this chunk is published (the next chunk to read). */
  readonly state: ConnectorState;
}

export type ChunkOutcome =
  { readonly kind: 'rows'; readonly rows: readonly Row[] } | { readonly kind: 'retry' };

interface Window {
  readonly table: PgTable;
  /** The chunk replaces the replica's copy of the table (the first chunk of a re-snapshot): see high(). */
  readonly replace: boolean;
  lowSeen: boolean;
  /** Events of the table seen between prepare() and LOW, in stream order. */
  readonly beforeLow: ChangeEvent[];
  /** Events of the table seen between LOW and HIGH, in stream order. */
  readonly inWindow: ChangeEvent[];
  /** Positions already kept: after a reconnect the stream sends a half-received transaction again. */
  readonly seen: Set<string>;
  chunk: ChunkRows | null;
  readonly settle: (outcome: ChunkOutcome) => void;
}

export interface ClosedChunk {
  readonly table: PgTable;
  readonly rows: readonly Row[];
  readonly state: ConnectorState;
  readonly retry: boolean;
  /**
   * A snapshot truncate goes out before the rows: they are the whole table and replace whatever the replica
   * holds (a table without a key, see keyless-fold.ts), or they are the first chunk of a re-snapshot, after
   * which the later chunks copy the rest of the table (SnapshotPlan.replace).
   */
  readonly replacesTable: boolean;
}

/**
 * How long streamed changes are remembered while a snapshot runs, and how many per table at most. A
 * transaction the stream passed before prepare() but the chunk's snapshot did not see yet (commit record
 * flushed and sent, ProcArray entry not yet cleared) would otherwise be overwritten by the chunk's older row,
 * or, for a keyless table, lost with the snapshot truncate.
 */
const RECENT_MS = 10_000;
const RECENT_MAX = 10_000;

interface Recent {
  readonly events: { readonly at: number; readonly event: ChangeEvent }[];
  head: number;
}

export class WatermarkWindows {
  readonly #windows = new Map<string, Window>();
  /** Recent changes by table oid, while a snapshot runs (see RECENT_MS). */
  readonly #recent = new Map<number, Recent>();
  #remembering = false;

  /** Remember recent changes (a snapshot runs) or forget them (it ended). */
  remember(on: boolean): void {
    this.#remembering = on;
    if (!on) this.#recent.clear();
  }

  /** Registers a chunk before its LOW watermark is written; the promise settles when the stream reaches HIGH. */
  prepare(id: string, table: PgTable, replace = false): Promise<ChunkOutcome> {
    return new Promise((resolve) => {
      const window: Window = {
        table,
        replace,
        lowSeen: false,
        beforeLow: [],
        inWindow: [],
        seen: new Set(),
        chunk: null,
        settle: resolve,
      };
      const recent = this.#recent.get(table.oid);
      if (recent) for (const { event } of recent.events.slice(recent.head)) keep(window, event);
      this.#windows.set(id, window);
    });
  }

  /** The chunk was read; called before the HIGH watermark is written. */
  setRows(id: string, chunk: ChunkRows): void {
    const window = this.#windows.get(id);
    if (window) window.chunk = chunk;
  }

  /** Forgets a chunk whose reading failed (its watermarks may still arrive and are then ignored). */
  abandon(id: string): void {
    const window = this.#windows.get(id);
    this.#windows.delete(id);
    window?.settle({ kind: 'retry' });
  }

  low(id: string): void {
    const window = this.#windows.get(id);
    if (window) window.lowSeen = true;
  }

  /** Keeps a streamed event for every open window on its table, and remembers it while a snapshot runs. */
  observe(oid: number, event: ChangeEvent): void {
    if (this.#remembering) this.#remember(oid, event);
    for (const window of this.#windows.values()) if (window.table.oid === oid) keep(window, event);
  }

  #remember(oid: number, event: ChangeEvent): void {
    const now = Date.now();
    let recent = this.#recent.get(oid);
    if (!recent) {
      recent = { events: [], head: 0 };
      this.#recent.set(oid, recent);
    }
    recent.events.push({ at: now, event });
    const { events } = recent;
    while (
      recent.head < events.length &&
      (events.length - recent.head > RECENT_MAX || (events[recent.head]?.at ?? now) < now - RECENT_MS)
    )
      recent.head++;
    if (recent.head > events.length / 2) {
      events.splice(0, recent.head);
      recent.head = 0;
    }
  }

  /**
   * The stream reached HIGH: returns what to yield, or null when the id is not a chunk of ours (another
   * connector's watermark, or one already handled before a reconnect).
   */
  high(id: string): ClosedChunk | null {
    const window = this.#windows.get(id);
    if (!window || !window.chunk) return null;
    this.#windows.delete(id);
    const chunk = window.chunk;
    const unseen = (events: readonly ChangeEvent[]): ChangeEvent[] =>
      events.filter((event) => !sawTransaction(chunk.snapshot, event.source.txId ?? ''));
    const table = window.table.schema;
    const keyless = table.key.length === 0;
    // Without LOW in the stream (a reconnect resumed past it) the window's start is unknown: read again.
    // A keyed row may be folded with a change it already holds (absolute values); a keyless one may not.
    // A replacing chunk's truncate also clears what the window's events wrote outside the chunk's rows, so
    // the fold adopts every key those events carry whole (chunk-fold.ts).
    const rows = !window.lowSeen
      ? null
      : keyless
        ? foldKeyless(table, chunk.rows, unseen([...window.beforeLow, ...window.inWindow]))
        : foldChunk(table, chunk.rows, [...unseen(window.beforeLow), ...window.inWindow], window.replace);
    window.settle(rows === null ? { kind: 'retry' } : { kind: 'rows', rows });
    return {
      table: window.table,
      rows: rows ?? [],
      state: chunk.state,
      retry: rows === null,
      replacesTable: keyless || window.replace,
    };
  }

  get openCount(): number {
    return this.#windows.size;
  }
}

/** Adds a streamed event to a window once (after a reconnect the stream sends it again). */
function keep(window: Window, event: ChangeEvent): void {
  const position = event.source.position;
  const id = `${position.commit.kind === 'pg' ? position.commit.lsn : ''}#${position.index}`;
  if (window.seen.has(id)) return;
  window.seen.add(id);
  (window.lowSeen ? window.inWindow : window.beforeLow).push(event);
}
