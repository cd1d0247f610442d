/**
 * GTID positions of both binlog flavors behind one type: a MariaDB GTID position (one GTID per domain) or a
 * MySQL GTID set. The connector works with these values; `BinlogCommitPosition.gtidSet` carries their
 * canonical text (formatGtidPosition), which parses back here.
 */
import {
  advanceMariadbPosition,
  compareMariadbPositions,
  formatMariadbGtid,
  formatMariadbPosition,
  mariadbPositionContains,
  mergeMariadbPositions,
  parseMariadbGtid,
  parseMariadbPosition,
  type MariadbGtid,
  type MariadbGtidPosition,
} from './mariadb-gtid.ts';
import {
  addMysqlGtid,
  compareMysqlGtidSets,
  formatMysqlGtid,
  formatMysqlGtidSet,
  mysqlGtidSetContains,
  parseMysqlGtid,
  parseMysqlGtidSet,
  unionMysqlGtidSets,
  type MysqlGtid,
  type MysqlGtidSet,
} from './mysql-gtid-set.ts';
import { CdcError } from '../../common/errors.ts';

export * from './mariadb-gtid.ts';
export * from './mysql-gtid-set.ts';

export type BinlogFlavor = 'mariadb' | 'mysql';

export type GtidPosition = MariadbGtidPosition | MysqlGtidSet;

/** One transaction id. */
export type Gtid =
  ({ readonly flavor: 'mariadb' } & MariadbGtid) | ({ readonly flavor: 'mysql' } & MysqlGtid);

export function parseGtidPosition(flavor: BinlogFlavor, text: string): GtidPosition {
  return flavor === 'mariadb' ? parseMariadbPosition(text) : parseMysqlGtidSet(text);
}

export function emptyGtidPosition(flavor: BinlogFlavor): GtidPosition {
  return parseGtidPosition(flavor, '');
}

export function formatGtidPosition(position: GtidPosition): string {
  return position.flavor === 'mariadb' ? formatMariadbPosition(position) : formatMysqlGtidSet(position);
}

export function parseGtid(flavor: BinlogFlavor, text: string): Gtid {
  return flavor === 'mariadb' ? { flavor, ...parseMariadbGtid(text) } : { flavor, ...parseMysqlGtid(text) };
}

export function formatGtid(gtid: Gtid): string {
  return gtid.flavor === 'mariadb' ? formatMariadbGtid(gtid) : formatMysqlGtid(gtid);
}

function flavorMismatch(a: string, b: string): never {
  throw new CdcError('POSITION_MISMATCH', `cannot combine a ${a} GTID value with a ${b} one`, {});
}

/** Has `gtid` been executed according to `position`? */
export function gtidPositionContains(position: GtidPosition, gtid: Gtid): boolean {
  if (position.flavor === 'mariadb' && gtid.flavor === 'mariadb')
    return mariadbPositionContains(position, gtid);
  if (position.flavor === 'mysql' && gtid.flavor === 'mysql') return mysqlGtidSetContains(position, gtid);
  return flavorMismatch(position.flavor, gtid.flavor);
}

/** The position once `gtid` has also been executed. */
export function advanceGtidPosition(position: GtidPosition, gtid: Gtid): GtidPosition {
  if (position.flavor === 'mariadb' && gtid.flavor === 'mariadb')
    return advanceMariadbPosition(position, gtid);
  if (position.flavor === 'mysql' && gtid.flavor === 'mysql') return addMysqlGtid(position, gtid);
  return flavorMismatch(position.flavor, gtid.flavor);
}

export function mergeGtidPositions(a: GtidPosition, b: GtidPosition): GtidPosition {
  if (a.flavor === 'mariadb' && b.flavor === 'mariadb') return mergeMariadbPositions(a, b);
  if (a.flavor === 'mysql' && b.flavor === 'mysql') return unionMysqlGtidSets(a, b);
  return flavorMismatch(a.flavor, b.flavor);
}

/** Partial order (null: neither includes the other). */
export function compareGtidPositions(a: GtidPosition, b: GtidPosition): -1 | 0 | 1 | null {
  if (a.flavor === 'mariadb' && b.flavor === 'mariadb') return compareMariadbPositions(a, b);
  if (a.flavor === 'mysql' && b.flavor === 'mysql') return compareMysqlGtidSets(a, b);
  return flavorMismatch(a.flavor, b.flavor);
}

export function gtidPositionsEqual(a: GtidPosition, b: GtidPosition): boolean {
  return a.flavor === b.flavor && formatGtidPosition(a) === formatGtidPosition(b);
}
