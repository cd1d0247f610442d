/**
 * The stream side of the watermark algorithm (DBLog): between a chunk's LOW and HIGH watermarks, every key
 * changed by a streamed event of that table is noted; at HIGH the chunk's rows minus those keys are what
 * the snapshot yields, positioned at the HIGH watermark. The streamed change is newer than (or as new as)
 * the chunk's copy of the row, and it is already in the stream before HIGH, so dropping the copy is safe.
 */
import type { ChangeEvent, Row } from '../../../schemas/events/change-event.ts';
import type { ConnectorState } from '../../connector.ts';
import type { PgTable } from '../types/catalog.ts';
import { keyString } from './row-key.ts';

export interface ChunkRows {
  readonly rows: readonly Row[];
  /**
   * Transaction ids (low 32 bits, as text) the chunk's snapshot saw as in progress. A transaction can write
   * its commit record before LOW yet become visible only after the chunk's snapshot was taken; its changes
   * then precede LOW in the stream but are missing from the chunk, so they count as window changes too.
   */
  readonly invisibleXids: ReadonlySet<string>;
  /** State to save once this chunk is published (the next chunk to read). */
  readonly state: ConnectorState;
}

export type ChunkOutcome = { readonly kind: 'rows'; readonly rows: readonly Row[] } | { readonly kind: 'retry' };

interface Window {
  readonly table: PgTable;
  lowSeen: boolean;
  readonly changedKeys: Set<string>;
  /** Keys changed between prepare() and LOW, by transaction id (see ChunkRows.invisibleXids). */
  readonly beforeLow: Map<string, Set<string>>;
  chunk: ChunkRows | null;
  readonly settle: (outcome: ChunkOutcome) => void;
}

export interface ClosedChunk {
  readonly table: PgTable;
  readonly rows: readonly Row[];
  readonly state: ConnectorState;
  readonly retry: boolean;
}

/** Marks a change that cannot be matched by key: the chunk is read again. */
const WHOLE_TABLE = '*';

export class WatermarkWindows {
  readonly #windows = new Map<string, Window>();

  /** Registers a chunk before its LOW watermark is written; the promise settles when the stream reaches HIGH. */
  prepare(id: string, table: PgTable): Promise<ChunkOutcome> {
    return new Promise((resolve) => {
      this.#windows.set(id, { table, lowSeen: false, changedKeys: new Set(), beforeLow: new Map(), chunk: null, settle: resolve });
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

  /** Notes the keys a streamed event touches, for every open window on its table. */
  observe(oid: number, event: ChangeEvent): void {
    for (const window of this.#windows.values()) {
      if (window.table.oid !== oid) continue;
      let keys = window.changedKeys;
      if (!window.lowSeen) {
        const xid = event.source.txId ?? '';
        keys = window.beforeLow.get(xid) ?? new Set();
        window.beforeLow.set(xid, keys);
      }
      const added = keys.size;
      if (event.op !== 't') {
        for (const row of [event.before, event.after]) {
          const key = row ? keyString(window.table.schema, row) : null;
          if (key !== null) keys.add(key);
        }
      }
      // A truncate, or a change on a table without a key, cannot be matched to chunk rows.
      if (keys.size === added && event.op === 't') keys.add(WHOLE_TABLE);
      else if (keys.size === added && window.table.schema.key.length === 0) keys.add(WHOLE_TABLE);
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
    const changed = new Set(window.changedKeys);
    for (const xid of window.chunk.invisibleXids) for (const key of window.beforeLow.get(xid) ?? []) changed.add(key);
    const retry = !window.lowSeen || changed.has(WHOLE_TABLE);
    const rows = retry
      ? []
      : window.chunk.rows.filter((row) => {
          const key = keyString(window.table.schema, row);
          return key === null || !changed.has(key);
        });
    window.settle(retry ? { kind: 'retry' } : { kind: 'rows', rows });
    return { table: window.table, rows, state: window.chunk.state, retry };
  }

  get openCount(): number {
    return this.#windows.size;
  }
}
