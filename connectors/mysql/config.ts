/**
 * Configuration of the MySQL/MariaDB connector, decoded once at start-up (zod): a wrong value fails fast with
 * the path of the field.
 */
import { z } from 'zod';
import { CdcError } from '../../common/errors.ts';

export const mysqlConnectorConfigSchema = z.object({
  name: z.string().min(1),
  /** `mysql://user:pass@host:port/` */
  url: z.string().regex(/^(mysql|mariadb):\/\//, 'must be a mysql:// URL'),
  /**
   * Other servers of the same MariaDB GTID replication group: capture reads the one that is the primary
   * (writable) and follows a switch to another (replication/candidates.ts). Empty: `url` only, as it is.
   */
  candidates: z.array(z.string().regex(/^(mysql|mariadb):\/\//, 'must be a mysql:// URL')).default([]),
  flavor: z.enum(['mariadb', 'mysql']),
  /** Replica server id presented to the source: unique among everything replicating from it. */
  serverId: z.number().int().min(1).max(0xffffffff),
  /** `database.*` or `database.table`. */
  tables: z.array(z.string().regex(/^[^.]+(\.[^.]+)?$/, 'must be database.table or database.*')).min(1),
  snapshot: z.enum(['initial', 'never']).default('initial'),
  snapshotChunkRows: z.number().int().min(1).default(10_000),
  heartbeatIntervalMs: z.number().int().min(100).default(10_000),
  maxTransactionEvents: z.number().int().min(1).default(10_000),
  /**
   * `database.table`s read from the stream besides `tables`, never snapshotted: rows a writer puts first in a
   * transaction to say who wrote it (origin marker rows, services/apply/origin-marks.ts).
   */
  streamAlso: z.array(z.string().regex(/^[^.]+\.[^.]+$/, 'must be database.table')).default([]),
  /**
   * The dump connection's `net_write_timeout`, in seconds (the server's when absent). With several processes
   * running this capture (`ha`), a process frozen or cut off while the server was writing to it keeps its dump
   * thread until that timeout, and the server holds a new dump with the same server id back until then.
   */
  dumpWriteTimeoutSeconds: z.number().int().min(1).optional(),
});

export type MysqlConnectorConfig = z.output<typeof mysqlConnectorConfigSchema>;
export type MysqlConnectorConfigInput = z.input<typeof mysqlConnectorConfigSchema>;

export function decodeMysqlConnectorConfig(input: unknown): MysqlConnectorConfig {
  const parsed = mysqlConnectorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new CdcError(
      'CONFIG_INVALID',
      `mysql connector config: ${path || '(root)'}: ${issue?.message ?? 'invalid'}`,
      { path },
    );
  }
  return parsed.data;
}
