/**
 * The changes a restarted snapshot already holds.
 *
 * A snapshot stopped after some published chunks goes on from a new consistent snapshot at `at`, later than
 * the first one's position `from`, where streaming still starts (the chunks read first need every change
 * after `from`). Rows read after the restart already show the changes in (from, at]; replaying those would
 * insert rows twice at a replica or move them backwards. So a change in a transaction that `at` contains is
 * dropped when its row lies in the part read after that restart: a later table, or the same table past the
 * chunk boundary key, in the server's own key order (KeyOrder). An update moving a row across the boundary
 * keeps only its side before it (a delete or an insert).
 *
 * A TRUNCATE in the overlap leaves the table empty at that point: from then on its changes are all streamed,
 * rebuilding exactly what the later snapshot read. Which tables were truncated is kept in the connector state,
 * so a restart in the overlap decides the same way.
 */
import type { Row, Value } from '../../../schemas/events/change-event.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import {
  gtidPositionContains,
  parseGtidPosition,
  type BinlogFlavor,
  type Gtid,
  type GtidPosition,
} from '../../../schemas/positions/gtid.ts';
import { decodeValue } from '../types/decode-value.ts';
import type { KeyOrder } from '../types/key-order.ts';
import type { RawKeyValue, SnapshotResume, SnapshotState } from './snapshot-state.ts';

interface Region {
  readonly at: GtidPosition;
  readonly tableIndex: number;
  readonly lastKey: readonly RawKeyValue[] | null;
  /** `lastKey` decoded for a table definition, so each change in the overlap compares without decoding it. */
  readonly decoded: WeakMap<TableSchema, Value[]>;
}

/** The restart point's key in the decoded form of the stream's rows (the snapshot saved the driver's form). */
function lastKeyOf(region: Region, lastKey: readonly RawKeyValue[], table: TableSchema): Value[] {
  let last = region.decoded.get(table);
  if (last === undefined) {
    last = table.key.map((column, k) => {
      const schema = table.columns.find((c) => c.name === column);
      const raw = lastKey[k] ?? null;
      return schema === undefined ? raw : decodeValue(schema, raw);
    });
    region.decoded.set(table, last);
  }
  return last;
}

export class SnapshotOverlap {
  readonly #tables: ReadonlyMap<string, number>;
  readonly #regions: readonly Region[];
  readonly #cleared: Set<string>;

  private constructor(tables: readonly string[], regions: readonly Region[], cleared: readonly string[]) {
    this.#tables = new Map(tables.map((name, index) => [name, index]));
    this.#regions = regions;
    this.#cleared = new Set(cleared);
  }

  /** The overlap of a snapshot restarted at least once; null when there is none. */
  static of(
    snapshot: SnapshotState | null,
    flavor: BinlogFlavor,
    cleared: readonly string[],
  ): SnapshotOverlap | null {
    if (snapshot === null || snapshot.resumes.length === 0) return null;
    const regions = snapshot.resumes.map((resume: SnapshotResume) => ({
      at: parseGtidPosition(flavor, resume.at),
      tableIndex: resume.tableIndex,
      lastKey: resume.lastKey,
      decoded: new WeakMap<TableSchema, Value[]>(),
    }));
    return new SnapshotOverlap(snapshot.tables, regions, cleared);
  }

  /** Whether a transaction may touch rows a restarted snapshot read after it (later positions contain all). */
  holds(gtid: Gtid): boolean {
    const last = this.#regions[this.#regions.length - 1];
    return last !== undefined && gtidPositionContains(last.at, gtid);
  }

  /** Whether the change of `gtid` to the row with key `key` must be streamed (false: the snapshot has it). */
  async keep(gtid: Gtid, table: TableSchema, row: Row, order: KeyOrder): Promise<boolean> {
    const name = `${table.database}.${table.table}`;
    const index = this.#tables.get(name);
    if (index === undefined || this.#cleared.has(name)) return true;
    for (let i = this.#regions.length - 1; i >= 0; i--) {
      const region = this.#regions[i]!;
      if (index < region.tableIndex) continue;
      // No key (a keyless table, read again whole): the whole table was read after the restart point.
      if (index === region.tableIndex && region.lastKey !== null && region.lastKey.length > 0) {
        const key: Value[] = table.key.map((column) => row[column] ?? null);
        const last = lastKeyOf(region, region.lastKey, table);
        if ((await order.compare(table, key, last)) <= 0) continue;
      }
      return !gtidPositionContains(region.at, gtid);
    }
    return true;
  }

  /** A TRUNCATE of `table` passed: every later change of it is streamed. */
  truncated(table: TableSchema): void {
    this.#cleared.add(`${table.database}.${table.table}`);
  }

  /** Tables truncated in the overlap, for the connector state. */
  get cleared(): string[] {
    return [...this.#cleared];
  }
}

/**
 * The resume record for a snapshot going on at `at` from `state`: the table being read goes on past its last
 * chunk key. A keyless table is read by OFFSET, so its rows cannot be placed before or after a point: one cut
 * short is read again whole (after a snapshot truncate, see takeSnapshot), and `lastKey` null says so here,
 * so the stream drops all of its changes up to `at`.
 */
export function resumeAt(state: SnapshotState, at: string): SnapshotResume {
  return { at, tableIndex: state.tableIndex, lastKey: keylessCutShort(state) ? null : state.lastKey };
}

/**
 * Whether `state` stopped inside a keyless table: rows read, and no key to go on from (keyed tables record
 * the last key read; states saved by earlier versions hold an empty key for a keyless table).
 */
export function keylessCutShort(state: SnapshotState): boolean {
  return state.tableRows > 0 && (state.lastKey === null || state.lastKey.length === 0);
}
