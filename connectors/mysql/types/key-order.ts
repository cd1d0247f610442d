/**
 * Orders primary-key values the way the server sorts them, so the stream can tell whether a row lies before
 * or after a snapshot chunk boundary (`WHERE (key) > (last) ORDER BY key`).
 *
 * Numbers, decimals, temporal text, bit strings, bytes, ENUM (by index) and SET (by bitmask) are compared
 * here. Text and UUID order depends on the server (collations, PAD SPACE, MariaDB's UUID byte order), so those
 * are asked of the server itself with the column's character set and collation.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Value } from '../../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../../schemas/events/table-schema.ts';

export type Ordering = -1 | 0 | 1;

function sign(n: number | bigint): Ordering {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Exact comparison of decimal text (`-12.50`, `3`, `0.001`) without going through floating point. */
export function compareDecimalText(a: string, b: string): Ordering {
  const parse = (text: string) => {
    const negative = text.trim().startsWith('-');
    const [whole = '', fraction = ''] = text.trim().replace(/^[-+]/, '').split('.');
    const int = whole.replace(/^0+/, '');
    const frac = fraction.replace(/0+$/, '');
    return { negative: negative && (int !== '' || frac !== ''), int, frac };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const magnitude = (): Ordering => {
    if (x.int.length !== y.int.length) return x.int.length < y.int.length ? -1 : 1;
    if (x.int !== y.int) return x.int < y.int ? -1 : 1;
    const width = Math.max(x.frac.length, y.frac.length);
    const fx = x.frac.padEnd(width, '0');
    const fy = y.frac.padEnd(width, '0');
    return fx === fy ? 0 : fx < fy ? -1 : 1;
  };
  const m = magnitude();
  return x.negative ? ((-m || 0) as Ordering) : m;
}

/** `-838:59:59.000000` .. `838:59:59.999999` as signed microseconds. */
function timeMicros(text: string): number {
  const negative = text.startsWith('-');
  const [h = '0', m = '0', s = '0'] = text.replace(/^-/, '').split(':');
  const [sec = '0', frac = ''] = s.split('.');
  const micros =
    ((Number(h) * 60 + Number(m)) * 60 + Number(sec)) * 1_000_000 + Number(frac.padEnd(6, '0').slice(0, 6));
  return negative ? -micros : micros;
}

function setMask(values: readonly string[], text: string): bigint {
  if (text === '') return 0n;
  return text.split(',').reduce((mask, member) => {
    const index = values.indexOf(member);
    return index < 0 ? mask : mask | (1n << BigInt(index));
  }, 0n);
}

function compareText(a: string, b: string): Ordering {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Compares two non-null values of one column locally; null when only the server can say. */
export function compareLocally(column: ColumnSchema, a: Value, b: Value): Ordering | null {
  const type = column.type;
  switch (type.kind) {
    case 'int64':
    case 'uint64':
      return sign(BigInt(a as bigint | number) - BigInt(b as bigint | number));
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      return sign(Number(a) - Number(b));
    case 'decimal':
      return compareDecimalText(String(a), String(b));
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'bit':
      // One column prints every value in the same fixed-width form, so text order is value order.
      return compareText(String(a), String(b));
    case 'time':
      return sign(timeMicros(String(a)) - timeMicros(String(b)));
    case 'enum':
      return sign(type.values.indexOf(String(a)) - type.values.indexOf(String(b)));
    case 'set':
      return sign(setMask(type.values, String(a)) - setMask(type.values, String(b)));
    case 'bytes':
      return sign(Buffer.compare(Buffer.from(a as Uint8Array), Buffer.from(b as Uint8Array)));
    case 'string':
    case 'text':
    case 'json':
    case 'uuid':
    case 'interval':
    case 'array':
      return null;
  }
}

interface Collation {
  readonly charset: string;
  readonly collation: string;
}

const IDENTIFIER = /^\w+$/;

/** Key order of one table, asking `connection` for text and UUID columns. */
export class KeyOrder {
  readonly #connection: Connection;
  readonly #collations = new Map<string, Map<string, Collation>>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /** Lexicographic comparison of two key tuples in `table.key` order (NULL sorts first, as the server does). */
  async compare(table: TableSchema, a: readonly Value[], b: readonly Value[]): Promise<Ordering> {
    for (const [i, name] of table.key.entries()) {
      const column = table.columns.find((c) => c.name === name);
      const x = a[i] ?? null;
      const y = b[i] ?? null;
      let order: Ordering;
      if (x === null || y === null) order = x === y ? 0 : x === null ? -1 : 1;
      else if (column === undefined) order = compareText(String(x), String(y));
      else order = compareLocally(column, x, y) ?? (await this.#compareOnServer(table, column, x, y));
      if (order !== 0) return order;
    }
    return 0;
  }

  async #compareOnServer(table: TableSchema, column: ColumnSchema, a: Value, b: Value): Promise<Ordering> {
    let expression: string;
    if (column.type.kind === 'uuid') {
      expression = 'CAST(? AS UUID)';
    } else {
      const { charset, collation } = await this.#collation(table, column.name);
      expression =
        IDENTIFIER.test(charset) && IDENTIFIER.test(collation)
          ? `CONVERT(? USING ${charset}) COLLATE ${collation}`
          : '?';
    }
    const [rows] = await this.#connection.query<RowDataPacket[]>(
      `SELECT (${expression} > ${expression}) - (${expression} < ${expression}) AS c`,
      [a, b, a, b].map((value) => (value instanceof Uint8Array ? Buffer.from(value) : String(value))),
    );
    return sign(Number(rows[0]?.c ?? 0));
  }

  async #collation(table: TableSchema, name: string): Promise<Collation> {
    const id = `${table.database}.${table.table}`;
    let columns = this.#collations.get(id);
    if (columns === undefined) {
      const [rows] = await this.#connection.query<RowDataPacket[]>(
        `SELECT COLUMN_NAME AS name, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
        [table.database, table.table],
      );
      columns = new Map(
        rows.map((row) => [
          String(row.name),
          { charset: String(row.charset ?? 'utf8mb4'), collation: String(row.collation ?? 'utf8mb4_bin') },
        ]),
      );
      this.#collations.set(id, columns);
    }
    return columns.get(name) ?? { charset: 'utf8mb4', collation: 'utf8mb4_bin' };
  }
}
