/**
 * Several candidate servers of one MariaDB GTID replication group (config `candidates`): which of them is the
 * primary now, and whether a server's binlog holds the position capture must resume from.
 *
 * The primary is the one candidate that is writable (`read_only=OFF`); replicas among the candidates must run
 * with `read_only=ON`, as a MariaDB replica usually does. Two writable candidates cannot be told apart, so the
 * choice then keeps the server already read, or waits (retriable) for an operator to settle it: streaming from
 * the wrong one of two primaries would publish a history the group does not keep.
 *
 * Resuming on another server is safe because MariaDB GTIDs (`domain-server-seq`) are the same on every server
 * of the group (a replica with `log_slave_updates=ON` writes a replicated transaction under its original GTID);
 * so the last published GTID names the same transaction on the new primary, unless that transaction never
 * reached it (the old primary crashed first). `missingFrom` finds that case before the dump starts, for a
 * clear error instead of a gap: without `gtid_strict_mode` the server would start from the next sequence
 * number of the domain and skip the hole silently.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { CdcError, errorMessage } from '../../../common/errors.ts';
import { Backoff } from '../../../common/retry.ts';
import type { Logger } from '../../../common/logger.ts';
import type { CaptureBatch } from '../../connector.ts';
import { readServerIds } from '../resume-state.ts';
import type { BinlogClient } from './binlog-client.ts';
import { mysqlConnectOptions } from '../../../common/connect/mysql-url.ts';
import {
  formatMariadbGtid,
  parseMariadbGtid,
  type MariadbGtid,
  type GtidPosition,
  type MariadbGtidPosition,
} from '../../../schemas/positions/gtid.ts';
import { scalarText } from '../types/decode-value.ts';

/** What one probe of a candidate found. */
export type CandidateProbe =
  | { readonly url: string; readonly label: string; readonly serverId: number; readonly readOnly: boolean }
  | { readonly url: string; readonly label: string; readonly error: string };

/** `host:port` of a URL: names a server in messages and /status without its credentials. */
export function serverLabel(url: string): string {
  const { host, port } = mysqlConnectOptions(url);
  return `${host}:${port}`;
}

/** Probes `url` on a connection of its own, closed afterwards. */
export async function probeCandidate(
  url: string,
  connect: (url: string) => Promise<Connection>,
): Promise<CandidateProbe> {
  let connection: Connection;
  try {
    connection = await connect(url);
  } catch (error) {
    return { url, label: serverLabel(url), error: errorMessage(error) };
  }
  try {
    return await probeOn(connection, url);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** Whether the server `url` is writable, and its server id, asked over `connection` to it. */
async function probeOn(connection: Connection, url: string): Promise<CandidateProbe> {
  const label = serverLabel(url);
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      'SELECT @@GLOBAL.server_id AS serverId, @@GLOBAL.read_only AS readOnly',
    );
    const row = rows[0];
    return { url, label, serverId: Number(row?.serverId ?? 0), readOnly: Number(row?.readOnly ?? 0) !== 0 };
  } catch (error) {
    return { url, label, error: errorMessage(error) };
  }
}

/**
 * Probes one server again and again on one kept connection (a pool of one), opened when first needed and again
 * after a failure: the primary watcher asks every second, which would otherwise be a new connection (and a
 * line in the server's connection log) each time.
 */
export class HeldProbe {
  readonly #url: string;
  readonly #connect: (url: string) => Promise<Connection>;
  #connection: Connection | null = null;

  constructor(url: string, connect: (url: string) => Promise<Connection>) {
    this.#url = url;
    this.#connect = connect;
  }

  async probe(): Promise<CandidateProbe> {
    try {
      if (this.#connection === null) {
        const connection = await this.#connect(this.#url);
        // A server gone while the connection idles must not crash the process: the next probe's query fails,
        // and a new connection is opened after it.
        connection.on('error', () => undefined);
        this.#connection = connection;
      }
    } catch (error) {
      return { url: this.#url, label: serverLabel(this.#url), error: errorMessage(error) };
    }
    const probe = await probeOn(this.#connection, this.#url);
    // A failed query may have left the connection broken: the next probe opens a new one.
    if ('error' in probe) await this.close();
    return probe;
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = null;
    await connection?.end().catch(() => undefined);
  }
}

function describe(probe: CandidateProbe): string {
  if ('error' in probe) return `${probe.label} unreachable (${probe.error})`;
  return `${probe.label} (server_id ${probe.serverId}) ${probe.readOnly ? 'read-only' : 'writable'}`;
}

/**
 * The primary among probed candidates: the one writable server; `current` (the server read so far) when it is
 * among several writable ones. Retriable when there is none or no way to choose: a switch may be under way.
 */
export function choosePrimary(
  source: string,
  probes: readonly CandidateProbe[],
  current: string | null,
): CandidateProbe & { readonly serverId: number } {
  const writable = probes.filter(
    (probe): probe is CandidateProbe & { serverId: number; readOnly: boolean } =>
      !('error' in probe) && !probe.readOnly,
  );
  const chosen =
    writable.length === 1 ? writable[0] : writable.find((probe) => probe.url === current && current !== null);
  if (chosen !== undefined) return chosen;
  const states = probes.map(describe).join('; ');
  throw new CdcError(
    'SOURCE_UNREACHABLE',
    writable.length === 0
      ? `no candidate server of source ${source} is a writable primary (${states}); waiting for one to be promoted (read_only=OFF)`
      : `several candidate servers of source ${source} are writable (${states}): cannot tell which is the primary; set read_only=ON on the replicas`,
    { source },
    { retriable: true },
  );
}

/** `@@gtid_binlog_state`: the last GTID of every server id in every domain the server's binlog holds. */
export async function binlogState(connection: Connection): Promise<MariadbGtid[]> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_state AS state');
  const value: unknown = rows[0]?.state;
  const text = value === null || value === undefined ? '' : scalarText(value);
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseMariadbGtid);
}

/**
 * The GTIDs of `position` that the server's binlog does not hold. A server holds `d-s-n` when its binlog state
 * has a GTID of domain d and server s with a sequence number of n or more (sequence numbers only grow within a
 * domain under gtid_strict_mode).
 */
export function missingFrom(position: MariadbGtidPosition, state: readonly MariadbGtid[]): MariadbGtid[] {
  return position.gtids.filter(
    (wanted) =>
      !state.some(
        (held) => held.domain === wanted.domain && held.server === wanted.server && held.seq >= wanted.seq,
      ),
  );
}

/** The error for a resume position the server lacks: which GTID, which server, and what to do. */
export function positionMissingError(
  source: string,
  label: string,
  missing: readonly MariadbGtid[],
  detail: string,
): CdcError {
  const gtids = missing.map(formatMariadbGtid).join(', ');
  return new CdcError(
    'SOURCE_POSITION_MISSING',
    `source ${source}: GTID ${gtids}, the last change published, is not in the binlog of ${label} (${detail}): that transaction never reached this server (the previous primary failed before it replicated), so resuming there would lose it and reorder what follows; capture stops. Bring the previous primary back and let the replica catch up, or re-snapshot the replicas from ${label}`,
    { source, server: label, gtid: gtids },
  );
}

/** How often a capture with candidates checks that the server it reads is still the writable primary. */
export const WATCH_INTERVAL_MS = 1_000;

/**
 * The servers one binlog source may read: `url`, then its candidates. Tracks the one read now, and the server
 * ids of the group (every server reached so far), whose transactions are the source's own.
 */
export class ServerGroup {
  readonly #source: string;
  readonly #urls: readonly string[];
  readonly #connect: (url: string) => Promise<Connection>;
  #current: string;
  /** The group's server ids as last put into the saved state. */
  #recorded: readonly number[] = [];
  readonly localServerIds = new Set<number>();

  constructor(source: string, urls: readonly string[], connect: (url: string) => Promise<Connection>) {
    this.#source = source;
    this.#urls = urls;
    this.#current = urls[0]!;
    this.#connect = connect;
  }

  get current(): string {
    return this.#current;
  }

  /** Takes the group's server ids kept in the saved connector state (`withServerIds`). */
  restore(saved: unknown): void {
    this.#recorded = readServerIds(saved);
    for (const id of this.#recorded) this.localServerIds.add(id);
  }

  /**
   * With candidates, adds the group's server ids to the state saved with `batch` once they changed: a process
   * started after the old primary is gone learns its id from there, so the old primary's transactions still to
   * be read on the new primary stay local.
   */
  withServerIds(batch: CaptureBatch): CaptureBatch {
    if (!this.hasCandidates) return batch;
    const ids = [...this.localServerIds].sort((a, b) => a - b);
    const recorded = this.#recorded;
    if (ids.length === recorded.length && ids.every((id, i) => id === recorded[i])) return batch;
    this.#recorded = ids;
    return { ...batch, state: { ...batch.state, groupServerIds: ids } };
  }

  /**
   * With candidates: once the server `client` reads is no longer the primary and another candidate is, ends
   * its stream (after what was received), so the reconnect resumes on the new primary from the last released
   * transaction.
   */
  follow(client: BinlogClient, signal: AbortSignal, logger: Logger): void {
    void this.watch(signal).then((reason) => {
      if (reason === null || signal.aborted) return;
      logger.warn({ reason }, 'the server read is no longer the primary; switching');
      client.abandon(
        new CdcError('SOURCE_STREAM_LOST', `primary switch: ${reason}`, {}, { retriable: true }),
      );
    });
  }

  get hasCandidates(): boolean {
    return this.#urls.length > 1;
  }

  /** `host:port` of every server, `url` first. */
  get labels(): string[] {
    return this.#urls.map(serverLabel);
  }

  /**
   * With candidates, probes them all and makes the writable one current; returns the label it switched from
   * when it did. Without, keeps `url` (which may be a replica: capture from a replica is fine on its own).
   */
  async locate(): Promise<string | null> {
    if (!this.hasCandidates) return null;
    const probes = await Promise.all(this.#urls.map((url) => probeCandidate(url, this.#connect)));
    for (const probe of probes) if (!('error' in probe)) this.localServerIds.add(probe.serverId);
    const chosen = choosePrimary(this.#source, probes, this.#current);
    const before = this.#current;
    this.#current = chosen.url;
    return before === chosen.url ? null : serverLabel(before);
  }

  /**
   * Before a dump from `from` on the current server (over `connection` to it): notes its server id as the
   * group's, and on MariaDB refuses, with SOURCE_POSITION_MISSING, a position its binlog does not hold.
   */
  async verifyResume(connection: Connection, from: GtidPosition): Promise<void> {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @@GLOBAL.server_id AS serverId');
    const serverId = Number(rows[0]?.serverId ?? 0);
    if (serverId > 0) this.localServerIds.add(serverId);
    if (from.flavor !== 'mariadb' || from.gtids.length === 0) return;
    const state = await binlogState(connection);
    const missing = missingFrom(from, state);
    if (missing.length === 0) return;
    const held =
      state.length === 0
        ? 'its binlog holds no GTID'
        : `its binlog state is ${state.map(formatMariadbGtid).join(',')}`;
    throw positionMissingError(
      this.#source,
      `${serverLabel(this.#current)} (server_id ${serverId})`,
      missing,
      held,
    );
  }

  /**
   * Resolves with a reason once the current server is no longer the primary while another candidate is (it
   * went read-only or away, and a replica was promoted); never without candidates. Ends when `signal` aborts.
   */
  async watch(signal: AbortSignal): Promise<string | null> {
    if (!this.hasCandidates) return null;
    const current = new HeldProbe(this.#current, this.#connect);
    try {
      while (!signal.aborted) {
        if (!(await Backoff.sleep(WATCH_INTERVAL_MS, signal))) break;
        const now = await current.probe();
        if (!('error' in now) && !now.readOnly) continue;
        // Rare (the current server is read-only or down): the others are asked on connections of their own.
        const others = await Promise.all(
          this.#urls.filter((url) => url !== this.#current).map((url) => probeCandidate(url, this.#connect)),
        );
        const writable = others.filter((probe) => !('error' in probe) && !probe.readOnly);
        if (writable.length === 1)
          return `${describe(now)}, and ${describe(writable[0]!)} is the primary now`;
      }
      return null;
    } finally {
      await current.close();
    }
  }
}
