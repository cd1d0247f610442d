/**
 * Failover of a PostgreSQL source (`sources[].failover`, PostgreSQL 17 and later): the capture's slot is a
 * failover slot, which each standby running `sync_replication_slots = on` keeps a synchronized copy of, so
 * after a standby is promoted the capture goes on there from the copy. On every (re)start the capture asks the
 * configured server and its candidates which one is a primary now (`pg_is_in_recovery()` false) and streams
 * from it. The decisions are pure functions over rows read from the servers, so each message is testable alone.
 */
import pg from 'pg';
import { CdcError, errorMessage } from '../../../common/errors.ts';
import { postgresConnectOptions } from '../../../common/connect/postgres-url.ts';
import { CANONICAL_SESSION_OPTIONS } from '../types/pg-sql.ts';

/** Failover slots (the `failover` option of a logical slot, slot synchronization) came with PostgreSQL 17. */
export const FAILOVER_MIN_VERSION = 170000;

/** What one server says about itself and the capture's slot. */
export interface ServerRole {
  readonly url: string;
  readonly inRecovery: boolean;
  readonly versionNum: number;
  readonly version: string;
  /** The slot, when the server has it: whether it is a failover slot, and (on a standby) a synchronized copy. */
  readonly slot: { readonly failover: boolean; readonly synced: boolean; readonly temporary: boolean } | null;
  /** Primary: `synchronized_standby_slots`. Standby: `sync_replication_slots`, `hot_standby_feedback`, `primary_slot_name`. */
  readonly settings: Readonly<Record<string, string>>;
}

/** The server the capture streams from, and what is worth a warning about the failover set-up. */
export interface FailoverChoice {
  readonly primary: ServerRole;
  readonly warnings: readonly string[];
}

/** The address of a URL without user or password, for messages. */
export function serverLabel(url: string): string {
  if (!URL.canParse(url)) return 'a configured server';
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

/**
 * Picks the primary among the servers that answered: the first one (in configured order) that is not in
 * recovery and holds the slot, else the first that is not in recovery (the slot is created there on a first
 * start; on a later one, its absence is reported as a lost slot by the caller).
 */
export function choosePrimary(
  source: string,
  servers: readonly ServerRole[],
  unreachable: readonly string[],
): FailoverChoice {
  const tooOld = servers.find((server) => server.versionNum < FAILOVER_MIN_VERSION);
  if (tooOld) {
    throw new CdcError(
      'CONFIG_INVALID',
      `sources[${source}].failover needs PostgreSQL 17 or later (failover slots), but ${serverLabel(tooOld.url)} runs ${tooOld.version}: remove sources[${source}].failover, or upgrade; on older servers a failover loses the slot and needs a re-snapshot`,
      { source, field: 'failover' },
    );
  }
  const primaries = servers.filter((server) => !server.inRecovery);
  const primary = primaries.find((server) => server.slot !== null) ?? primaries[0];
  if (!primary) {
    throw new CdcError(
      'SOURCE_UNREACHABLE',
      `no primary among the servers of source ${source}: ${[
        ...servers.map((server) => `${serverLabel(server.url)} is a standby (in recovery)`),
        ...unreachable,
      ].join('; ')}; waiting for one to be promoted`,
      { source },
      { retriable: true },
    );
  }
  return { primary, warnings: failoverWarnings(primary, servers) };
}

/** What keeps the slot from surviving a failover, or a failover from losing or repeating a change. */
export function failoverWarnings(primary: ServerRole, servers: readonly ServerRole[]): string[] {
  const warnings: string[] = [];
  const at = serverLabel(primary.url);
  if ((primary.settings.synchronized_standby_slots ?? '') === '') {
    warnings.push(
      `primary ${at} has no synchronized_standby_slots: it may send the capture a transaction no standby has yet, which a failover then loses from the source while Kafka keeps it; set synchronized_standby_slots to the standbys' physical slots`,
    );
  }
  if (primary.slot !== null && !primary.slot.failover) {
    warnings.push(`slot on ${at} is not a failover slot: standbys do not synchronize it`);
  }
  for (const standby of servers.filter((server) => server.inRecovery)) {
    const label = `standby ${serverLabel(standby.url)}`;
    if (standby.settings.sync_replication_slots !== 'on')
      warnings.push(
        `${label} has sync_replication_slots off: it keeps no copy of the slot, and capture cannot go on there after a failover`,
      );
    if (standby.settings.hot_standby_feedback !== 'on')
      warnings.push(`${label} has hot_standby_feedback off: slot synchronization needs it on`);
    if ((standby.settings.primary_slot_name ?? '') === '')
      warnings.push(`${label} has no primary_slot_name: slot synchronization needs a physical slot`);
    else if (
      (primary.settings.synchronized_standby_slots ?? '') !== '' &&
      !primary.settings
        .synchronized_standby_slots!.split(',')
        .map((name) => name.trim())
        .includes(standby.settings.primary_slot_name!)
    )
      warnings.push(
        `${label} streams through slot ${standby.settings.primary_slot_name}, which synchronized_standby_slots on ${at} does not name: the capture may be ahead of it`,
      );
  }
  return warnings;
}

/** Reads what `choosePrimary` needs from one server, on a connection of its own. */
export async function readServerRole(url: string, slot: string): Promise<ServerRole> {
  const client = new pg.Client({
    ...postgresConnectOptions(url),
    options: CANONICAL_SESSION_OPTIONS,
    connectionTimeoutMillis: 5_000,
  });
  await client.connect();
  try {
    return await queryServerRole(client, url, slot);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Reads what `choosePrimary` needs from the server `url` over `db` (a client, or a pool a sampler keeps). */
export async function queryServerRole(
  db: pg.ClientBase | pg.Pool,
  url: string,
  slot: string,
): Promise<ServerRole> {
  const { rows } = await db.query<{
    in_recovery: boolean;
    version_num: string;
    version: string;
    settings: Record<string, string | null>;
  }>(
    `SELECT pg_is_in_recovery() AS in_recovery, current_setting('server_version_num') AS version_num,
            current_setting('server_version') AS version,
            json_build_object(
              'synchronized_standby_slots', current_setting('synchronized_standby_slots', true),
              'sync_replication_slots', current_setting('sync_replication_slots', true),
              'hot_standby_feedback', current_setting('hot_standby_feedback', true),
              'primary_slot_name', current_setting('primary_slot_name', true)) AS settings`,
  );
  const row = rows[0]!;
  const versionNum = Number(row.version_num);
  // The failover and synced columns exist from 17 on; older servers are refused by choosePrimary anyway.
  const slotRows =
    versionNum >= FAILOVER_MIN_VERSION
      ? (
          await db.query<{ failover: boolean; synced: boolean; temporary: boolean }>(
            'SELECT failover, synced, temporary FROM pg_replication_slots WHERE slot_name = $1',
            [slot],
          )
        ).rows
      : (await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows.map(() => ({
          failover: false,
          synced: false,
          temporary: false,
        }));
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(row.settings)) if (value !== null) settings[name] = value;
  return {
    url,
    inRecovery: row.in_recovery,
    versionNum,
    version: row.version,
    slot: slotRows[0] ?? null,
    settings,
  };
}

/**
 * The failover warnings as they stand now, for the server capture streams from (`current`), from the servers
 * that answered a periodic check; null when that server did not answer or is no longer a primary (a failover
 * is under way: the capture's next start decides, and says what it finds).
 */
export function currentFailoverWarnings(current: string, servers: readonly ServerRole[]): string[] | null {
  const primary = servers.find((server) => server.url === current);
  if (primary === undefined || primary.inRecovery) return null;
  return failoverWarnings(primary, servers);
}

/** Asks every server (the configured one first) what it is now, and picks the primary. */
export async function findPrimary(
  source: string,
  urls: readonly string[],
  slot: string,
): Promise<FailoverChoice> {
  const servers: ServerRole[] = [];
  const unreachable: string[] = [];
  for (const url of urls) {
    try {
      servers.push(await readServerRole(url, slot));
    } catch (error) {
      unreachable.push(`${serverLabel(url)} is unreachable (${errorMessage(error)})`);
    }
  }
  return choosePrimary(source, servers, unreachable);
}

/**
 * Makes an existing slot a failover slot (`ALTER_REPLICATION_SLOT`, a replication-protocol command): a slot
 * created before `failover` was configured would otherwise never reach the standbys.
 */
export async function makeFailoverSlot(url: string, slot: string): Promise<void> {
  // `replication` is a connection parameter pg passes on (pg-logical-replication uses it) but does not type.
  const config = { ...postgresConnectOptions(url), replication: 'database' };
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query(`ALTER_REPLICATION_SLOT "${slot}" ( FAILOVER true )`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
