/**
 * A source's `columns` configuration held against one table's description: which columns go, which are masked
 * how, and the table as the events then describe it. Everything the configuration alone cannot tell (the
 * table's key, a column's type, two patterns disagreeing) is refused here, when capture first reads the table,
 * before any of its rows is published.
 */
import { CdcError } from '../../common/errors.ts';
import { matchesAny } from '../../schemas/events/table-names.ts';
import { tableId, type TableSchema } from '../../schemas/events/table-schema.ts';
import type { ColumnsConfig } from '../config/columns.ts';
import { columnMask, describeMask, maskedColumn, maskRefusal, type ColumnMask } from './column-masks.ts';

export interface TablePlan {
  /** The table as its events describe it after the rules: no left-out columns, masked ones retyped. */
  readonly table: TableSchema;
  readonly dropped: ReadonlySet<string>;
  readonly masks: ReadonlyMap<string, ColumnMask>;
  /** Columns an entry naming this very table lists but the table lacks (a misspelling leaves a value unmasked). */
  readonly unknownColumns: readonly string[];
}

interface Entry {
  readonly pattern: string;
  readonly include: ReadonlySet<string> | null;
  readonly exclude: ReadonlySet<string>;
  readonly masks: ReadonlyMap<string, ColumnMask>;
}

export class ColumnRules {
  readonly #source: string;
  readonly #entries: readonly Entry[];

  constructor(source: string, config: ColumnsConfig) {
    this.#source = source;
    this.#entries = Object.entries(config).map(([pattern, entry]) => ({
      pattern,
      include: entry.include === undefined ? null : new Set(entry.include),
      exclude: new Set(entry.exclude ?? []),
      masks: new Map(Object.entries(entry.mask ?? {}).map(([column, mask]) => [column, columnMask(mask)])),
    }));
  }

  get empty(): boolean {
    return this.#entries.length === 0;
  }

  /** The plan for `table`, or null when no rule touches it (its events go out as they are). */
  plan(table: TableSchema): TablePlan | null {
    const entries = this.#entries.filter((entry) => matchesAny([entry.pattern], table));
    if (entries.length === 0) return null;
    const names = new Set(table.columns.map((column) => column.name));
    const dropped = new Set<string>();
    const masks = new Map<string, { readonly mask: ColumnMask; readonly entry: Entry }>();
    for (const entry of entries) {
      for (const column of names) {
        if (entry.exclude.has(column) || (entry.include !== null && !entry.include.has(column)))
          dropped.add(column);
      }
      for (const [column, mask] of entry.masks) {
        const other = masks.get(column);
        if (other !== undefined && JSON.stringify(other.mask) !== JSON.stringify(mask))
          this.#refuse(
            entry,
            `mask.${column}`,
            `${column} of ${tableId(table)} is also masked as ${describeMask(other.mask)} by ${label(other.entry)}: give it one mask`,
          );
        masks.set(column, { mask, entry });
      }
    }
    for (const column of table.key) this.#checkKey(entries, table, column, dropped, masks);
    const applied = new Map<string, ColumnMask>();
    const columns = table.columns.flatMap((column) => {
      if (dropped.has(column.name)) return [];
      const rule = masks.get(column.name);
      if (rule === undefined) return [column];
      const refusal = maskRefusal(rule.mask, column);
      if (refusal !== null) this.#refuse(rule.entry, `mask.${column.name}`, `${tableId(table)}: ${refusal}`);
      applied.set(column.name, rule.mask);
      return [maskedColumn(rule.mask, column, table)];
    });
    if (dropped.size === 0 && applied.size === 0) return null;
    return {
      table: { ...table, columns },
      dropped,
      masks: applied,
      unknownColumns: unknownColumns(entries, table, names),
    };
  }

  /**
   * A key column stays as it is: downstream finds rows by it (a redacted or truncated key merges rows, a missing
   * one identifies none), and the connector's snapshot progress, stored in Kafka, holds key values as read.
   */
  #checkKey(
    entries: readonly Entry[],
    table: TableSchema,
    column: string,
    dropped: ReadonlySet<string>,
    masks: ReadonlyMap<string, { readonly mask: ColumnMask; readonly entry: Entry }>,
  ): void {
    const why = `${column} is a key column of ${tableId(table)}, and key columns cannot be left out or masked: replicas find rows by them, and capture stores key values with its snapshot progress`;
    const masked = masks.get(column);
    if (masked !== undefined) this.#refuse(masked.entry, `mask.${column}`, why);
    if (!dropped.has(column)) return;
    const entry = entries.find(
      (e) => e.exclude.has(column) || (e.include !== null && !e.include.has(column)),
    );
    if (entry === undefined) return;
    if (entry.exclude.has(column)) this.#refuse(entry, 'exclude', why);
    this.#refuse(entry, 'include', `${why}; list it in include`);
  }

  #refuse(entry: Entry, field: string, why: string): never {
    throw new CdcError('CONFIG_INVALID', `source ${this.#source}: ${label(entry)}.${field}: ${why}`, {
      source: this.#source,
      table: entry.pattern,
    });
  }
}

function label(entry: Entry): string {
  return `columns[${JSON.stringify(entry.pattern)}]`;
}

/** Only an entry naming the table exactly is expected to name its columns; a pattern spans tables that differ. */
function unknownColumns(entries: readonly Entry[], table: TableSchema, names: ReadonlySet<string>): string[] {
  const unknown = new Set<string>();
  for (const entry of entries) {
    if (entry.pattern !== tableId(table)) continue;
    const named = [...(entry.include ?? []), ...entry.exclude, ...entry.masks.keys()];
    for (const column of named) if (!names.has(column)) unknown.add(column);
  }
  return [...unknown];
}
