/**
 * MySQL GTIDs (`uuid:gno`, or `uuid:tag:gno` from MySQL 8.3) and GTID sets
 * (`uuid:1-5:7,uuid2:1-27:tag_a:1-3`), the shape of `@@gtid_executed`.
 *
 * A set is kept canonical: sources sorted by uuid (lowercase), untagged intervals before tagged ones, tags
 * sorted, intervals inclusive, sorted and merged when adjacent or overlapping. Canonical sets compare by text.
 */
import { CdcError } from '../../common/errors.ts';

export interface MysqlGtid {
  readonly uuid: string;
  /** '' for an untagged transaction. */
  readonly tag: string;
  readonly gno: bigint;
}

/** An inclusive interval of transaction numbers. */
export type GnoInterval = readonly [first: bigint, last: bigint];

export interface MysqlGtidSource {
  readonly uuid: string;
  readonly tag: string;
  readonly intervals: readonly GnoInterval[];
}

export interface MysqlGtidSet {
  readonly flavor: 'mysql';
  readonly sources: readonly MysqlGtidSource[];
}

export const EMPTY_MYSQL_GTID_SET: MysqlGtidSet = { flavor: 'mysql', sources: [] };

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const TAG_PATTERN = /^[a-z_][a-z0-9_]{0,31}$/i;
const INTERVAL_PATTERN = /^(\d{1,19})(?:-(\d{1,19}))?$/;
const GNO_MAX = (1n << 63n) - 1n;

function invalid(text: string, why: string): CdcError {
  return new CdcError('POSITION_INVALID', `not a MySQL GTID set: ${JSON.stringify(text)} (${why})`, {
    value: text,
  });
}

function normalizeUuid(text: string, whole: string): string {
  if (!UUID_PATTERN.test(text)) throw invalid(whole, `bad server uuid ${JSON.stringify(text)}`);
  const hex = text.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseGno(text: string, whole: string): bigint {
  const gno = BigInt(text);
  if (gno < 1n || gno > GNO_MAX) throw invalid(whole, `transaction number ${text} out of range 1..2^63-1`);
  return gno;
}

function parseInterval(text: string, whole: string): GnoInterval {
  const match = INTERVAL_PATTERN.exec(text);
  if (!match) throw invalid(whole, `bad interval ${JSON.stringify(text)}`);
  const first = parseGno(match[1]!, whole);
  const last = match[2] === undefined ? first : parseGno(match[2], whole);
  if (last < first) throw invalid(whole, `interval ${text} ends before it starts`);
  return [first, last];
}

function mergeIntervals(intervals: readonly GnoInterval[]): GnoInterval[] {
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [first, last] of sorted) {
    const previous = merged[merged.length - 1];
    if (previous && first <= previous[1] + 1n) {
      if (last > previous[1]) previous[1] = last;
    } else {
      merged.push([first, last]);
    }
  }
  return merged;
}

function sourceKey(uuid: string, tag: string): string {
  return `${uuid}:${tag}`;
}

/** Builds a canonical set from possibly unsorted, overlapping pieces. */
function canonical(pieces: Iterable<MysqlGtidSource>): MysqlGtidSet {
  const byKey = new Map<string, { uuid: string; tag: string; intervals: GnoInterval[] }>();
  for (const piece of pieces) {
    const key = sourceKey(piece.uuid, piece.tag);
    const existing = byKey.get(key);
    if (existing) existing.intervals.push(...piece.intervals);
    else byKey.set(key, { uuid: piece.uuid, tag: piece.tag, intervals: [...piece.intervals] });
  }
  const sources = [...byKey.values()]
    .map((source) => ({ uuid: source.uuid, tag: source.tag, intervals: mergeIntervals(source.intervals) }))
    .filter((source) => source.intervals.length > 0)
    .sort((a, b) =>
      a.uuid !== b.uuid ? (a.uuid < b.uuid ? -1 : 1) : a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0,
    );
  return { flavor: 'mysql', sources };
}

/** Parses `@@gtid_executed` text (newlines and spaces allowed, as the server prints them; '' is empty). */
export function parseMysqlGtidSet(text: string): MysqlGtidSet {
  const pieces: MysqlGtidSource[] = [];
  for (const rawBlock of text.split(',')) {
    const block = rawBlock.replace(/\s+/g, '');
    if (block === '') continue;
    const [uuidText, ...items] = block.split(':');
    const uuid = normalizeUuid(uuidText!, text);
    if (items.length === 0) throw invalid(text, `server ${uuid} has no interval`);
    let tag = '';
    let tagHasInterval = true;
    for (const item of items) {
      if (/^\d/.test(item)) {
        pieces.push({ uuid, tag, intervals: [parseInterval(item, text)] });
        tagHasInterval = true;
      } else {
        if (!TAG_PATTERN.test(item)) throw invalid(text, `bad interval or tag ${JSON.stringify(item)}`);
        if (!tagHasInterval) throw invalid(text, `tag ${JSON.stringify(tag)} has no interval`);
        tag = item.toLowerCase();
        tagHasInterval = false;
      }
    }
    if (!tagHasInterval) throw invalid(text, `tag ${JSON.stringify(tag)} has no interval`);
  }
  return canonical(pieces);
}

/** Parses one transaction id, `uuid:gno` or `uuid:tag:gno`. */
export function parseMysqlGtid(text: string): MysqlGtid {
  const parts = text.trim().split(':');
  const fail = (): CdcError =>
    new CdcError('POSITION_INVALID', `not a MySQL GTID: ${JSON.stringify(text)} (expected uuid:number)`, {
      value: text,
    });
  if (parts.length !== 2 && parts.length !== 3) throw fail();
  const gnoText = parts[parts.length - 1]!;
  const tag = parts.length === 3 ? parts[1]! : '';
  if (!/^\d{1,19}$/.test(gnoText) || (tag !== '' && !TAG_PATTERN.test(tag)) || !UUID_PATTERN.test(parts[0]!))
    throw fail();
  const gno = BigInt(gnoText);
  if (gno < 1n || gno > GNO_MAX) throw fail();
  return { uuid: normalizeUuid(parts[0]!, text), tag: tag.toLowerCase(), gno };
}

export function formatMysqlGtid(gtid: MysqlGtid): string {
  return gtid.tag === '' ? `${gtid.uuid}:${gtid.gno}` : `${gtid.uuid}:${gtid.tag}:${gtid.gno}`;
}

function formatInterval([first, last]: GnoInterval): string {
  return first === last ? `${first}` : `${first}-${last}`;
}

/** Canonical text, as `@@gtid_executed` prints it but without the newlines. */
export function formatMysqlGtidSet(set: MysqlGtidSet): string {
  const blocks = new Map<string, string[]>();
  for (const source of set.sources) {
    const parts = blocks.get(source.uuid) ?? [source.uuid];
    if (source.tag !== '') parts.push(source.tag);
    parts.push(...source.intervals.map(formatInterval));
    blocks.set(source.uuid, parts);
  }
  return [...blocks.values()].map((parts) => parts.join(':')).join(',');
}

export function mysqlGtidSetContains(set: MysqlGtidSet, gtid: MysqlGtid): boolean {
  const source = set.sources.find((s) => s.uuid === gtid.uuid && s.tag === gtid.tag);
  return (
    source !== undefined && source.intervals.some(([first, last]) => first <= gtid.gno && gtid.gno <= last)
  );
}

export function addMysqlGtid(set: MysqlGtidSet, gtid: MysqlGtid): MysqlGtidSet {
  if (mysqlGtidSetContains(set, gtid)) return set;
  return canonical([...set.sources, { uuid: gtid.uuid, tag: gtid.tag, intervals: [[gtid.gno, gtid.gno]] }]);
}

export function unionMysqlGtidSets(a: MysqlGtidSet, b: MysqlGtidSet): MysqlGtidSet {
  return canonical([...a.sources, ...b.sources]);
}

function subtractIntervals(from: readonly GnoInterval[], remove: readonly GnoInterval[]): GnoInterval[] {
  let result: GnoInterval[] = [...from];
  for (const [rFirst, rLast] of remove) {
    const next: GnoInterval[] = [];
    for (const [first, last] of result) {
      if (rLast < first || rFirst > last) {
        next.push([first, last]);
        continue;
      }
      if (first < rFirst) next.push([first, rFirst - 1n]);
      if (last > rLast) next.push([rLast + 1n, last]);
    }
    result = next;
  }
  return result;
}

/** The transactions in `a` that are not in `b` (for example: what a replica still misses). */
export function subtractMysqlGtidSets(a: MysqlGtidSet, b: MysqlGtidSet): MysqlGtidSet {
  return canonical(
    a.sources.map((source) => {
      const other = b.sources.find((s) => s.uuid === source.uuid && s.tag === source.tag);
      return other ? { ...source, intervals: subtractIntervals(source.intervals, other.intervals) } : source;
    }),
  );
}

export function mysqlGtidSetIsEmpty(set: MysqlGtidSet): boolean {
  return set.sources.length === 0;
}

export function mysqlGtidSetsEqual(a: MysqlGtidSet, b: MysqlGtidSet): boolean {
  return formatMysqlGtidSet(a) === formatMysqlGtidSet(b);
}

/** Subset order: -1 when `a` is a strict subset of `b`, 1 for a strict superset, 0 equal, null otherwise. */
export function compareMysqlGtidSets(a: MysqlGtidSet, b: MysqlGtidSet): -1 | 0 | 1 | null {
  const aMissing = !mysqlGtidSetIsEmpty(subtractMysqlGtidSets(b, a));
  const bMissing = !mysqlGtidSetIsEmpty(subtractMysqlGtidSets(a, b));
  if (aMissing && bMissing) return null;
  return aMissing ? -1 : bMissing ? 1 : 0;
}
