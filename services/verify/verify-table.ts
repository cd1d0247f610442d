/**
 * Compares one source table with its replica in key-range chunks. Chunk boundaries are taken on the source
 * (every `chunkRows` rows in key order); the first chunk is open below and the last open above, so target rows
 * outside everything the source has are still seen. Both sides of a chunk are read at once and hashed over
 * their normalized rows; only when the hashes differ are the rows compared one by one, to name the keys that
 * are missing, extra or different. With `recheck`, the differing ranges alone are read again after the
 * caller's wait (a live pipeline catching up), and only what still differs is reported.
 */
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { keyOrderOf, unifyKinds } from './kinds.ts';
import { ChunkDigest } from './row-hash.ts';
import type {
  DifferingRange,
  KeyRange,
  KeyTuple,
  NeutralKind,
  RecheckOptions,
  RowKey,
  ScanColumn,
  TableReader,
  TableShape,
  TableVerifyReport,
  VerifyColumn,
} from './types.ts';

export const DEFAULT_CHUNK_ROWS = 10_000;
/** A chunk is hashed in one query on each side: a bigger one would hold both databases busy for minutes. */
export const MAX_CHUNK_ROWS = 1_000_000;
export const DEFAULT_MAX_KEYS_PER_RANGE = 100;

export interface VerifyTableOptions {
  readonly source: TableReader;
  readonly target: TableReader;
  /** Source table, `schema.table` (MariaDB `database.table`). */
  readonly table: string;
  /** Target table when its name differs; the same name by default (what apply workers create). */
  readonly targetTable?: string;
  readonly chunkRows?: number;
  /** Most keys listed per kind of difference and range; the counts are always complete. */
  readonly maxKeysPerRange?: number;
  readonly recheck?: RecheckOptions;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Of the source's columns, those not to compare: left out or masked at capture (the source's `columns`). */
  readonly notCompared?: (columns: readonly string[]) => ReadonlySet<string>;
}

/** How both sides read one table: shapes with matching key names, and the columns each side scans. */
interface ComparePlan {
  readonly sourceShape: TableShape;
  readonly targetShape: TableShape;
  readonly keyKinds: readonly NeutralKind[];
  readonly sourceColumns: readonly ScanColumn[];
  readonly targetColumns: readonly ScanColumn[];
  readonly columnsMissingOnTarget: readonly string[];
  readonly columnsNotCompared: readonly string[];
}

interface RangeResult {
  readonly range: KeyRange;
  readonly sourceRows: number;
  readonly targetRows: number;
  /** null when both sides hashed equal. */
  readonly difference: DifferingRange | null;
}

export async function verifyTable(options: VerifyTableOptions): Promise<TableVerifyReport> {
  const started = Date.now();
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isSafeInteger(chunkRows) || chunkRows <= 0 || chunkRows > MAX_CHUNK_ROWS) {
    throw new CdcError(
      'REQUEST_INVALID',
      `chunkRows must be a whole number from 1 to ${MAX_CHUNK_ROWS}, not ${chunkRows}`,
    );
  }
  const logger = (options.logger ?? silentLogger).child({ table: options.table });
  const targetTable = options.targetTable ?? options.table;
  const plan = await planComparison(
    options.source,
    options.target,
    options.table,
    targetTable,
    options.notCompared,
  );
  const maxKeys = options.maxKeysPerRange ?? DEFAULT_MAX_KEYS_PER_RANGE;
  const compare = (range: KeyRange) => compareRange(options.source, options.target, plan, range, maxKeys);

  let chunks = 0;
  let sourceRows = 0;
  let targetRows = 0;
  let differing: RangeResult[] = [];
  for (let from: KeyTuple | null = null; ;) {
    throwIfStopped(options.signal, options.table);
    const to = await options.source.boundaryAfter(plan.sourceShape, plan.keyKinds, from, chunkRows);
    const result = await compare({ from, to });
    chunks++;
    sourceRows += result.sourceRows;
    targetRows += result.targetRows;
    if (result.difference !== null) differing.push(result);
    if (to === null) break;
    from = to;
  }
  logger.debug({ chunks, differing: differing.length }, 'first pass done');

  let rechecks = 0;
  const recheck = options.recheck;
  for (let attempt = 1; recheck !== undefined && attempt <= recheck.attempts; attempt++) {
    if (differing.length === 0 && recheck.untilEqual !== false) break;
    await recheck.wait(attempt);
    throwIfStopped(options.signal, options.table);
    const again: RangeResult[] = [];
    for (const previous of differing) {
      const result = await compare(previous.range);
      sourceRows += result.sourceRows - previous.sourceRows;
      targetRows += result.targetRows - previous.targetRows;
      if (result.difference !== null) again.push(result);
    }
    differing = again;
    rechecks = attempt;
    logger.debug({ attempt, differing: differing.length }, 'recheck done');
  }

  const differingRanges = differing.flatMap((result) => (result.difference ? [result.difference] : []));
  return {
    table: options.table,
    targetTable,
    chunks,
    sourceRows,
    targetRows,
    equal: differingRanges.length === 0 && plan.columnsMissingOnTarget.length === 0,
    differingRanges,
    columnsMissingOnTarget: plan.columnsMissingOnTarget,
    columnsNotCompared: plan.columnsNotCompared,
    rechecks,
    durationMs: Date.now() - started,
  };
}

async function planComparison(
  source: TableReader,
  target: TableReader,
  table: string,
  targetTable: string,
  notCompared: VerifyTableOptions['notCompared'] = () => new Set(),
): Promise<ComparePlan> {
  const sourceShape = await source.describe(table);
  if (sourceShape === null) {
    throw new CdcError('VERIFY_TABLE_INVALID', `table ${table} does not exist on the source`, { table });
  }
  if (sourceShape.key.length === 0) {
    throw new CdcError(
      'VERIFY_TABLE_INVALID',
      `table ${table} has no primary key on the source: it cannot be compared in key ranges`,
      { table },
    );
  }
  const targetShape = await target.describe(targetTable);
  if (targetShape === null) {
    throw new CdcError('VERIFY_TABLE_INVALID', `table ${targetTable} does not exist on the replica`, {
      table: targetTable,
    });
  }
  const sourceColumns: ScanColumn[] = [];
  const targetColumns: ScanColumn[] = [];
  const missing: string[] = [];
  // A key column is always compared: capture refuses rules on it, and ranges are cut on it.
  const skipped = notCompared(sourceShape.columns.map((column) => column.name));
  const passed = sourceShape.columns.filter((c) => skipped.has(c.name) && !sourceShape.key.includes(c.name));
  const matched = new Map<string, { source: VerifyColumn; target: VerifyColumn; kind: NeutralKind }>();
  for (const column of sourceShape.columns) {
    if (passed.includes(column)) continue;
    const other = findColumn(targetShape.columns, column.name);
    if (other === undefined) {
      missing.push(column.name);
      continue;
    }
    // An array key (only a PostgreSQL replica can have one) compares as its text, like its key order.
    const unified = unifyKinds(column.kind, other.kind);
    const kind = unified === 'array' && sourceShape.key.includes(column.name) ? 'text' : unified;
    const element = column.element ?? other.element;
    matched.set(column.name, { source: column, target: other, kind });
    const scanned = { kind, ...(kind === 'array' && element !== undefined ? { element } : {}) };
    sourceColumns.push({ name: column.name, ...scanned });
    targetColumns.push({ name: other.name, ...scanned });
  }
  const keyKinds: NeutralKind[] = [];
  const targetKey: string[] = [];
  for (const name of sourceShape.key) {
    const pair = matched.get(name);
    if (pair === undefined) {
      throw new CdcError(
        'VERIFY_TABLE_INVALID',
        `key column ${name} of ${table} does not exist in ${targetTable} on the replica`,
        { table, column: name },
      );
    }
    if (keyOrderOf(pair.source.kind) !== keyOrderOf(pair.target.kind)) {
      throw new CdcError(
        'VERIFY_TABLE_INVALID',
        `key column ${name} of ${table} is ${pair.source.nativeType} on the source but ${pair.target.nativeType} on the replica: they order differently, so key ranges cannot be compared`,
        { table, column: name },
      );
    }
    keyKinds.push(pair.kind);
    targetKey.push(pair.target.name);
  }
  return {
    sourceShape,
    targetShape: { ...targetShape, key: targetKey },
    keyKinds,
    sourceColumns,
    targetColumns,
    columnsMissingOnTarget: missing,
    columnsNotCompared: passed.map((column) => column.name),
  };
}

/** The same name, or failing that the same name ignoring case (MariaDB column names are case-insensitive). */
function findColumn(columns: readonly VerifyColumn[], name: string): VerifyColumn | undefined {
  return (
    columns.find((column) => column.name === name) ??
    columns.find((column) => column.name.toLowerCase() === name.toLowerCase())
  );
}

async function compareRange(
  source: TableReader,
  target: TableReader,
  plan: ComparePlan,
  range: KeyRange,
  maxKeys: number,
): Promise<RangeResult> {
  const sourceDigest = new ChunkDigest();
  const targetDigest = new ChunkDigest();
  await Promise.all([
    source.scanRange(plan.sourceShape, plan.keyKinds, plan.sourceColumns, range, (row) =>
      sourceDigest.add(row),
    ),
    target.scanRange(plan.targetShape, plan.keyKinds, plan.targetColumns, range, (row) =>
      targetDigest.add(row),
    ),
  ]);
  const base = { range, sourceRows: sourceDigest.rowCount, targetRows: targetDigest.rowCount };
  if (sourceDigest.rowCount === targetDigest.rowCount && sourceDigest.digest() === targetDigest.digest()) {
    return { ...base, difference: null };
  }
  return { ...base, difference: diffRows(plan.sourceShape.key, range, sourceDigest, targetDigest, maxKeys) };
}

/** Row-by-row comparison of one range whose hashes differ. */
export function diffRows(
  keyNames: readonly string[],
  range: KeyRange,
  source: ChunkDigest,
  target: ChunkDigest,
  maxKeys: number,
): DifferingRange {
  const toRowKey = (key: KeyTuple): RowKey =>
    Object.fromEntries(keyNames.map((name, index) => [name, key[index] ?? '']));
  const missing: RowKey[] = [];
  const different: RowKey[] = [];
  const extra: RowKey[] = [];
  let missingCount = 0;
  let differentCount = 0;
  let extraCount = 0;
  for (const [id, row] of source.rows) {
    const other = target.rows.get(id);
    if (other === undefined) {
      if (missingCount++ < maxKeys) missing.push(toRowKey(row.key));
    } else if (other.digest !== row.digest) {
      if (differentCount++ < maxKeys) different.push(toRowKey(row.key));
    }
  }
  for (const [id, row] of target.rows) {
    if (!source.rows.has(id) && extraCount++ < maxKeys) extra.push(toRowKey(row.key));
  }
  return {
    from: range.from === null ? null : toRowKey(range.from),
    to: range.to === null ? null : toRowKey(range.to),
    sourceRows: source.rowCount,
    targetRows: target.rowCount,
    missingOnTarget: missing,
    extraOnTarget: extra,
    differentRows: different,
    missingCount,
    extraCount,
    differentCount,
  };
}

function throwIfStopped(signal: AbortSignal | undefined, table: string): void {
  if (signal?.aborted) throw new CdcError('STOPPED', `verification of ${table} was stopped`, { table });
}
