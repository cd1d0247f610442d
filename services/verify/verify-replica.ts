/**
 * Verification of a configured replica against its source: resolves both URLs from the pipeline
 * configuration, chooses the tables (the request's names or patterns, else the source's captured patterns),
 * and compares them one after another. A table that cannot be compared (missing, no key) is reported with
 * its reason and makes the replica unequal; connection failures end the whole run.
 */
import { CdcError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { ruledColumns } from '../config/columns.ts';
import type { PipelineConfig, ReplicaConfig, SourceConfig } from '../config/schema.ts';
import mysql from 'mysql2/promise';
import { mysqlConnectOptions } from '../../common/connect/mysql-url.ts';
import { ServerGroup } from '../../connectors/mysql/replication/candidates.ts';
import { splitTableName } from '../../schemas/events/table-names.ts';
import { openReader } from './open-reader.ts';
import type { RecheckOptions, TableReader, TableVerifyReport } from './types.ts';
import { verifyTable } from './verify-table.ts';

export interface VerifyRequest {
  /** Name of the replica in the configuration. */
  readonly replica: string;
  /** Name of its source; optional, checked against the replica's source when given. */
  readonly source?: string;
  /** Tables (`schema.table`, `*` patterns allowed); the source's captured tables when absent or empty. */
  readonly tables?: readonly string[];
  readonly chunkRows?: number;
}

export interface TableFailure {
  readonly table: string;
  readonly code: string;
  readonly message: string;
}

export interface VerifyReport {
  readonly source: string;
  readonly replica: string;
  /** True when every table compared equal and none failed. */
  readonly equal: boolean;
  readonly tables: readonly TableVerifyReport[];
  readonly failures: readonly TableFailure[];
  readonly durationMs: number;
}

/** A MariaDB source with candidates is compared on the one that is its primary now (as capture reads it). */
async function primaryUrl(source: SourceConfig): Promise<string> {
  if (source.kind !== 'mariadb' || source.candidates === undefined || source.candidates.length === 0)
    return source.url;
  const group = new ServerGroup(source.name, [source.url, ...source.candidates], (url) =>
    mysql.createConnection({ ...mysqlConnectOptions(url), connectTimeout: 10_000 }),
  );
  await group.locate();
  return group.current;
}

export interface VerifyRunOptions {
  readonly logger?: Logger;
  /** Called once the tables are known and after each table: how many are done of how many. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
  readonly recheck?: RecheckOptions;
  readonly signal?: AbortSignal;
}

export async function verifyReplica(
  config: PipelineConfig,
  request: VerifyRequest,
  options: VerifyRunOptions = {},
): Promise<VerifyReport> {
  const replica = config.replicas.find((candidate) => candidate.name === request.replica);
  if (replica === undefined) {
    const names = config.replicas.map((candidate) => candidate.name).join(', ') || 'none';
    throw new CdcError(
      'NOT_FOUND',
      `no replica named ${JSON.stringify(request.replica)} (replicas: ${names})`,
      {
        replica: request.replica,
      },
    );
  }
  if (request.source !== undefined && request.source !== replica.source) {
    throw new CdcError(
      'REQUEST_INVALID',
      `replica ${replica.name} applies source ${replica.source}, not ${request.source}`,
      { replica: replica.name, source: request.source },
    );
  }
  const source = config.sources.find((candidate) => candidate.name === replica.source);
  if (source === undefined) {
    throw new CdcError(
      'NOT_FOUND',
      `replica ${replica.name} names source ${replica.source}, which is not configured`,
      {
        replica: replica.name,
      },
    );
  }
  return verifyDatabases({
    sourceName: source.name,
    replicaName: replica.name,
    sourceUrl: await primaryUrl(source),
    targetUrl: replica.url,
    tables: request.tables !== undefined && request.tables.length > 0 ? request.tables : source.tables,
    targetTableOf: (table) => replicaTableName(replica, table),
    notCompared: (table, columns) => ruledColumns(source.columns, splitTableName(table, null), columns),
    ...(request.chunkRows !== undefined ? { chunkRows: request.chunkRows } : {}),
    ...options,
  });
}

export interface VerifyDatabasesOptions extends VerifyRunOptions {
  readonly sourceName: string;
  readonly replicaName: string;
  readonly sourceUrl: string;
  readonly targetUrl: string;
  /** Table names or `*` patterns, resolved on the source. */
  readonly tables: readonly string[];
  readonly chunkRows?: number;
  /** Where the replica holds a source table (`schema.table`); the same name when absent. */
  readonly targetTableOf?: (table: string) => string;
  /** Of a source table's columns, those not to compare (left out or masked at capture). */
  readonly notCompared?: (table: string, columns: readonly string[]) => ReadonlySet<string>;
}

/**
 * Where the apply workers put a source table (apply-task.ts): a PostgreSQL replica in its `targetSchema` when
 * set, a MariaDB replica in the database its URL names when it names one; else under the source's own name.
 */
export function replicaTableName(replica: ReplicaConfig, table: string): string {
  const name = table.slice(table.indexOf('.') + 1);
  const database =
    replica.kind === 'mariadb' ? decodeURIComponent(new URL(replica.url).pathname.replace(/^\//, '')) : '';
  const schema = replica.kind === 'postgres' ? (replica.targetSchema ?? '') : database;
  return schema === '' ? table : `${schema}.${name}`;
}

export async function verifyDatabases(options: VerifyDatabasesOptions): Promise<VerifyReport> {
  const started = Date.now();
  const logger = (options.logger ?? silentLogger).child({ verify: options.replicaName });
  const readers: TableReader[] = [];
  try {
    const source = await openReader(options.sourceUrl, 'source', logger);
    readers.push(source);
    const target = await openReader(options.targetUrl, 'target', logger);
    readers.push(target);
    const tables = await resolveTables(source, options.tables);
    const notCompared = options.notCompared;
    const reports: TableVerifyReport[] = [];
    const failures: TableFailure[] = [];
    options.onProgress?.({ done: 0, total: tables.length });
    for (const table of tables) {
      try {
        const report = await verifyTable({
          source,
          target,
          table,
          logger,
          ...(options.targetTableOf !== undefined ? { targetTable: options.targetTableOf(table) } : {}),
          ...(notCompared !== undefined
            ? { notCompared: (columns: readonly string[]) => notCompared(table, columns) }
            : {}),
          ...(options.chunkRows !== undefined ? { chunkRows: options.chunkRows } : {}),
          ...(options.recheck !== undefined ? { recheck: options.recheck } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        });
        reports.push(report);
        logger.info(
          { table, equal: report.equal, chunks: report.chunks, differing: report.differingRanges.length },
          'table verified',
        );
      } catch (error) {
        // Only "this table cannot be compared" is a per-table result; anything else ends the run.
        if (!(error instanceof CdcError) || error.code !== 'VERIFY_TABLE_INVALID') throw error;
        failures.push({ table, code: error.code, message: error.message });
        logger.warn({ table, reason: error.message }, 'table not verified');
      }
      options.onProgress?.({ done: reports.length + failures.length, total: tables.length });
    }
    return {
      source: options.sourceName,
      replica: options.replicaName,
      equal: failures.length === 0 && reports.every((report) => report.equal),
      tables: reports,
      failures,
      durationMs: Date.now() - started,
    };
  } finally {
    await Promise.all(readers.map((reader) => reader.close()));
  }
}

/** Names stay as given; patterns (with `*`) expand to the source's matching tables, each listed once. */
async function resolveTables(source: TableReader, tables: readonly string[]): Promise<string[]> {
  const patterns = tables.filter((table) => table.includes('*'));
  const expanded = patterns.length > 0 ? await source.listTables(patterns) : [];
  return [...new Set([...tables.filter((table) => !table.includes('*')), ...expanded])];
}
