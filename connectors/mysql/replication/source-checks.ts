/**
 * Start-up checks of the source server: binlog settings and privileges, each failure explained with what to
 * change, so a misconfigured server fails fast instead of producing an incomplete change stream.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { CdcError } from '../../../common/errors.ts';
import type { BinlogFlavor } from '../../../schemas/positions/gtid.ts';
import { scalarText } from '../types/decode-value.ts';

export interface SourceFacts {
  readonly flavor: BinlogFlavor;
  readonly serverId: number;
  readonly version: string;
}

async function variable(connection: Connection, name: string): Promise<string | null> {
  const [rows] = await connection.query<RowDataPacket[]>('SHOW GLOBAL VARIABLES LIKE ?', [name]);
  const value: unknown = rows[0]?.Value;
  return value === undefined || value === null ? null : scalarText(value);
}

export function requireSetting(actual: string | null, expected: string, name: string): void {
  if (actual?.toUpperCase() !== expected) {
    throw new CdcError(
      'SOURCE_NOT_CONFIGURED',
      `the source server has ${name}=${actual ?? '(unset)'}; change capture needs ${name}=${expected} (set it in the server configuration and restart, or SET GLOBAL ${name}='${expected}')`,
      { setting: name, actual, expected },
    );
  }
}

/** Privileges the connector needs: REPLICATION SLAVE (binlog dump), REPLICATION CLIENT (binlog positions), SELECT. */
export function checkGrants(grants: readonly string[], databases: readonly string[]): void {
  const text = grants.join('\n').toUpperCase();
  const global = grants
    .filter((g) => / ON \*\.\* TO /i.test(g))
    .join('\n')
    .toUpperCase();
  if (/ALL PRIVILEGES ON \*\.\*/.test(text)) return;
  const missing: string[] = [];
  if (!/REPLICATION SLAVE|BINLOG REPLAY|REPLICATION REPLICA/.test(global)) missing.push('REPLICATION SLAVE');
  if (!/REPLICATION CLIENT|BINLOG MONITOR/.test(global))
    missing.push('REPLICATION CLIENT (BINLOG MONITOR on MariaDB)');
  const selectEverywhere = /\bSELECT\b/.test(global);
  for (const db of databases) {
    const onDb = grants.some(
      (g) => /\bSELECT\b|ALL PRIVILEGES/i.test(g) && g.toLowerCase().includes(`on \`${db.toLowerCase()}\`.`),
    );
    if (!selectEverywhere && !onDb) missing.push(`SELECT on ${db}`);
  }
  if (missing.length > 0) {
    throw new CdcError(
      'SOURCE_PRIVILEGE',
      `the source user lacks ${missing.join(', ')}; grant it (e.g. GRANT ${missing[0]!.split(' (')[0]} ON *.* TO ${accountOf(grants)})`,
      {
        missing: missing.join(', '),
      },
    );
  }
}

/** The account SHOW GRANTS names (`'user'@'host'`), for the GRANT in a message. */
function accountOf(grants: readonly string[]): string {
  for (const grant of grants) {
    // MariaDB quotes the account with backquotes, MySQL with quotes: a GRANT takes either.
    const account = / TO ([`'])((?:(?!\1).)*)\1@([`'])((?:(?!\3).)*)\3/.exec(grant);
    if (account !== null) return `'${account[2]}'@'${account[4]}'`;
  }
  return 'the connector user';
}

export async function checkSource(
  connection: Connection,
  expectedFlavor: BinlogFlavor,
  databases: readonly string[],
): Promise<SourceFacts> {
  const [versionRows] = await connection.query<RowDataPacket[]>(
    'SELECT VERSION() AS version, @@server_id AS serverId',
  );
  const version = String(versionRows[0]?.version ?? '');
  const flavor: BinlogFlavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  if (flavor !== expectedFlavor) {
    throw new CdcError(
      'SOURCE_NOT_CONFIGURED',
      `the source server is ${flavor} (${version}) but the connector is configured with flavor '${expectedFlavor}'`,
      {
        flavor,
      },
    );
  }
  requireSetting(await variable(connection, 'log_bin'), 'ON', 'log_bin');
  requireSetting(await variable(connection, 'binlog_format'), 'ROW', 'binlog_format');
  requireSetting(await variable(connection, 'binlog_row_image'), 'FULL', 'binlog_row_image');
  requireSetting(await variable(connection, 'binlog_row_metadata'), 'FULL', 'binlog_row_metadata');
  if (flavor === 'mysql') {
    requireSetting(await variable(connection, 'gtid_mode'), 'ON', 'gtid_mode');
    requireSetting(await variable(connection, 'enforce_gtid_consistency'), 'ON', 'enforce_gtid_consistency');
  }
  const [grantRows] = await connection.query<RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
  checkGrants(
    grantRows.map((row) => String(Object.values(row)[0])),
    databases,
  );
  return { flavor, serverId: Number(versionRows[0]?.serverId ?? 0), version };
}

/** The GTID position the server has written to its binlog (MariaDB: gtid_binlog_pos, not gtid_current_pos). */
export async function currentGtidPosition(connection: Connection, flavor: BinlogFlavor): Promise<string> {
  const sql =
    flavor === 'mariadb' ? 'SELECT @@GLOBAL.gtid_binlog_pos AS pos' : 'SELECT @@GLOBAL.gtid_executed AS pos';
  const [rows] = await connection.query<RowDataPacket[]>(sql);
  return String(rows[0]?.pos ?? '');
}
