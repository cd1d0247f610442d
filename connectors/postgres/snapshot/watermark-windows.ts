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
  /** State to save once this chunk is published (the next chunk to read). */
  readonly state: ConnectorState;
}

export type ChunkOutcome = { readonly kind: 'rows'; readonly rows: readonly Row[] } | { readonly kind: 'retry' };

interface Window {
  readonly table: PgTable;
  lowSeen: boolean;
  readonly changedKeys: Set<string>;
  /** Keyless tables cannot match rows: any change during the window means reading the chunk again. */
  changedWithoutKey: boolean;
  chunk: ChunkRows | null;
  readonly settle: (outcome: ChunkOutcome) => void;
}

export interface ClosedChunk {
  readonly table: PgTable;
  readonly rows: readonly Row[];
  readonly state: ConnectorState;
  readonly retry: boolean;
}

export class WatermarkWindows {
  readonly #windows = new Map<string, Window>();

  /** Registers a chunk before its LOW watermark is written; the promise settles when the stream reaches HIGH. */
  prepare(id: string, table: PgTable): Promise<ChunkOutcome> {
    return new Promise((resolve) => {
      this.#windows.set(id, { table, lowSeen: false, changedKeys: new Set(), changedWithoutKey: false, chunk: null, settle: resolve });
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
      if (!window.lowSeen || window.table.oid !== oid) continue;
      if (event.op === 't') {
        window.changedWithoutKey = true;
        continue;
      }
      let keyed = false;
      for (const row of [event.before, event.after]) {
        if (!row) continue;
        const key = keyString(window.table.schema, row);
        if (key !== null) {
          window.changedKeys.add(key);
          keyed = true;
        }
      }
      if (!keyed) window.changedWithoutKey = true;
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
    const retry = !window.lowSeen || window.changedWithoutKey;
    const rows = retry
      ? []
      : window.chunk.rows.filter((row) => {
          const key = keyString(window.table.schema, row);
          return key === null || !window.changedKeys.has(key);
        });
    window.settle(retry ? { kind: 'retry' } : { kind: 'rows', rows });
    return { table: window.table, rows, state: window.chunk.state, retry };
  }

  get openCount(): number {
    return this.#windows.size;
  }
}
