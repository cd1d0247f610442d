/**
 * MariaDB GTIDs (`domain-server-seq`) and GTID positions (one GTID per replication domain, `0-1-42,1-2-7`),
 * the shape of `@@gtid_binlog_pos` and of what a replica sends to resume.
 *
 * A position means "every transaction of domain d up to sequence number s is done". Sequence numbers grow
 * per domain whatever server wrote them (gtid_strict_mode), so coverage compares seq within a domain; the
 * server id is kept because the server needs it to find the transaction in its binlog when resuming.
 */
import { CdcError } from '../../common/errors.ts';

export interface MariadbGtid {
  readonly domain: number;
  readonly server: number;
  readonly seq: bigint;
}

export interface MariadbGtidPosition {
  readonly flavor: 'mariadb';
  /** One GTID per domain, sorted by domain. */
  readonly gtids: readonly MariadbGtid[];
}

const U32_MAX = 0xffffffff;
const U64_MAX = 0xffffffffffffffffn;
const GTID_PATTERN = /^(\d{1,10})-(\d{1,10})-(\d{1,20})$/;

function invalid(text: string, why: string): CdcError {
  return new CdcError('POSITION_INVALID', `not a MariaDB GTID position: ${JSON.stringify(text)} (${why})`, {
    value: text,
  });
}

/** A GTID, or why the text is not one. */
function readGtid(text: string): MariadbGtid | string {
  const match = GTID_PATTERN.exec(text.trim());
  if (!match) return 'expected domain-server-seq, e.g. 0-1-42';
  const domain = Number(match[1]);
  const server = Number(match[2]);
  const seq = BigInt(match[3]!);
  if (domain > U32_MAX || server > U32_MAX || seq > U64_MAX) return 'number out of range';
  return { domain, server, seq };
}

export function parseMariadbGtid(text: string): MariadbGtid {
  const gtid = readGtid(text);
  if (typeof gtid === 'string') {
    throw new CdcError('POSITION_INVALID', `not a MariaDB GTID: ${JSON.stringify(text)} (${gtid})`, {
      value: text,
    });
  }
  return gtid;
}

export function formatMariadbGtid(gtid: MariadbGtid): string {
  return `${gtid.domain}-${gtid.server}-${gtid.seq}`;
}

export const EMPTY_MARIADB_POSITION: MariadbGtidPosition = { flavor: 'mariadb', gtids: [] };

/** Parses `0-1-42,1-2-7` (whitespace and an empty string allowed); a domain listed twice is an error. */
export function parseMariadbPosition(text: string): MariadbGtidPosition {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const byDomain = new Map<number, MariadbGtid>();
  for (const part of parts) {
    const gtid = readGtid(part);
    if (typeof gtid === 'string') throw invalid(text, `bad GTID ${JSON.stringify(part)}: ${gtid}`);
    if (byDomain.has(gtid.domain)) throw invalid(text, `domain ${gtid.domain} listed twice`);
    byDomain.set(gtid.domain, gtid);
  }
  return fromMap(byDomain);
}

function fromMap(byDomain: ReadonlyMap<number, MariadbGtid>): MariadbGtidPosition {
  return { flavor: 'mariadb', gtids: [...byDomain.values()].sort((a, b) => a.domain - b.domain) };
}

/** Canonical text: sorted by domain, comma-separated, the form MariaDB itself prints. */
export function formatMariadbPosition(position: MariadbGtidPosition): string {
  return position.gtids.map(formatMariadbGtid).join(',');
}

function entry(position: MariadbGtidPosition, domain: number): MariadbGtid | undefined {
  return position.gtids.find((gtid) => gtid.domain === domain);
}

/** Has the transaction `gtid` been executed according to `position`? */
export function mariadbPositionContains(position: MariadbGtidPosition, gtid: MariadbGtid): boolean {
  const current = entry(position, gtid.domain);
  return current !== undefined && gtid.seq <= current.seq;
}

/** The position after executing `gtid`: its domain's entry becomes `gtid` (a lower seq never moves it back). */
export function advanceMariadbPosition(
  position: MariadbGtidPosition,
  gtid: MariadbGtid,
): MariadbGtidPosition {
  if (mariadbPositionContains(position, gtid)) return position;
  const byDomain = new Map(position.gtids.map((g) => [g.domain, g] as const));
  byDomain.set(gtid.domain, gtid);
  return fromMap(byDomain);
}

/** Union: per domain, the later GTID. */
export function mergeMariadbPositions(a: MariadbGtidPosition, b: MariadbGtidPosition): MariadbGtidPosition {
  let merged = a;
  for (const gtid of b.gtids) merged = advanceMariadbPosition(merged, gtid);
  return merged;
}

/**
 * Partial order: -1 when `a` is behind `b` in some domain and ahead in none, 1 the other way round, 0 when
 * equal, null when each is ahead somewhere (positions on diverged servers).
 */
export function compareMariadbPositions(a: MariadbGtidPosition, b: MariadbGtidPosition): -1 | 0 | 1 | null {
  let behind = false;
  let ahead = false;
  const domains = new Set([...a.gtids.map((g) => g.domain), ...b.gtids.map((g) => g.domain)]);
  for (const domain of domains) {
    const seqA = entry(a, domain)?.seq ?? 0n;
    const seqB = entry(b, domain)?.seq ?? 0n;
    if (seqA < seqB) behind = true;
    if (seqA > seqB) ahead = true;
  }
  if (behind && ahead) return null;
  return behind ? -1 : ahead ? 1 : 0;
}

export function mariadbPositionsEqual(a: MariadbGtidPosition, b: MariadbGtidPosition): boolean {
  return formatMariadbPosition(a) === formatMariadbPosition(b);
}
