/**
 * The one table reader of verification: chunk boundaries and range scans in key order, written once over a
 * reader dialect (reader-dialect.ts), so PostgreSQL and MariaDB are read by the same loops and can only
 * differ where their SQL must.
 */
import { CdcError } from '../../common/errors.ts';
import { normalizeValue } from './normalize.ts';
import { rangeCondition } from './range-sql.ts';
import type { ReaderDialect } from './reader-dialect.ts';
import { matchesAny, splitTableName } from '../../schemas/events/table-names.ts';
import type {
  KeyRange,
  KeyTuple,
  NeutralKind,
  NormalizedRow,
  ScanColumn,
  TableReader,
  TableShape,
  VerifyColumn,
} from './types.ts';

interface RangeQuery {
  readonly text: string;
  readonly params: unknown[];
}

export class VerifyReader implements TableReader {
  readonly dialect: ReaderDialect['name'];
  readonly #sql: ReaderDialect;

  constructor(dialect: ReaderDialect) {
    this.#sql = dialect;
    this.dialect = dialect.name;
  }

  async listTables(patterns: readonly string[]): Promise<string[]> {
    const tables = await this.#sql.listTables();
    return tables.filter((name) => matchesAny(patterns, name)).map((name) => `${name.schema}.${name.table}`);
  }

  describe(table: string): Promise<TableShape | null> {
    return this.#sql.describe(splitTableName(table, this.#sql.defaultSchema));
  }

  async boundaryAfter(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    after: KeyTuple | null,
    rows: number,
  ): Promise<KeyTuple | null> {
    const query = this.#rangeQuery(shape, keyKinds, shape.key, { from: after, to: null });
    query.params.push(rows - 1);
    const [row] = await this.#sql.query(
      `${query.text} LIMIT 1 OFFSET ${this.#sql.placeholder(query.params.length)}`,
      query.params,
    );
    if (row === undefined) return null;
    return keyKinds.map((kind, index) => normalizeValue(kind, row[index] ?? null) ?? '');
  }

  async scanRange(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    columns: readonly ScanColumn[],
    range: KeyRange,
    onRow: (row: NormalizedRow) => void,
  ): Promise<void> {
    const keyIndexes = shape.key.map((name) => columns.findIndex((column) => column.name === name));
    if (keyIndexes.some((index) => index < 0)) {
      throw new CdcError('INTERNAL', `scan of ${shape.schema}.${shape.table} must read every key column`);
    }
    const query = this.#rangeQuery(
      shape,
      keyKinds,
      columns.map((column) => column.name),
      range,
    );
    for (const raw of await this.#sql.query(query.text, query.params)) {
      const values = columns.map((column, index) =>
        normalizeValue(column.kind, raw[index] ?? null, column.element),
      );
      onRow({ key: keyIndexes.map((index) => values[index] ?? ''), values });
    }
  }

  close(): Promise<void> {
    return this.#sql.close();
  }

  /** `SELECT <columns> FROM t WHERE <range> ORDER BY <key order>` with its parameters. */
  #rangeQuery(
    shape: TableShape,
    keyKinds: readonly NeutralKind[],
    select: readonly string[],
    range: KeyRange,
  ): RangeQuery {
    const sql = this.#sql;
    const byName = new Map(shape.columns.map((column) => [column.name, column]));
    const column = (name: string): VerifyColumn => {
      const found = byName.get(name);
      if (!found) throw new CdcError('INTERNAL', `${shape.schema}.${shape.table} has no column ${name}`);
      return found;
    };
    const order = shape.key.map((name, index) =>
      sql.orderExpression(column(name), keyKinds[index] ?? 'text'),
    );
    const params: unknown[] = [];
    const where = rangeCondition(order, range, (index, value) => {
      const kind = keyKinds[index] ?? 'text';
      params.push(sql.keyParam(kind, value));
      return sql.keyPlaceholder(params.length, kind);
    });
    const list = select.map((name) => sql.selectExpression(column(name))).join(', ');
    const table = `${sql.quote(shape.schema)}.${sql.quote(shape.table)}`;
    return {
      text: `SELECT ${list} FROM ${table} WHERE ${where} ORDER BY ${order.join(', ')}`,
      params,
    };
  }
}
