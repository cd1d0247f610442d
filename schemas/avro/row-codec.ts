/**
 * Converts rows between our Value model and the records avsc reads and writes, once compiled per table so the
 * per-row work is a loop over prepared column plans: bytes become Buffers on the way out and plain Uint8Arrays
 * on the way in, unsigned 64-bit values get their sign back, and columns a row does not carry are written as
 * the Absent record and listed (see table-avro.ts on `cdc.event.Absent` and `beforeAbsent`/`afterAbsent`).
 */
import type { Row, Value } from '../events/change-event.ts';
import type { ColumnSchema, ColumnType } from '../events/table-schema.ts';
import { setColumn } from '../events/set-column.ts';
import { CdcError } from '../../common/errors.ts';

type Convert = (value: Value) => unknown;
type Restore = (value: unknown) => Value;

interface ColumnPlan {
  readonly name: string;
  readonly avroName: string;
  /** Null when the value passes unchanged, which is most columns. */
  readonly toAvro: Convert | null;
  readonly fromAvro: Restore | null;
  /** The name is also an Object.prototype member (`constructor`, `__proto__`): read it as an own property only. */
  readonly ownOnly: boolean;
}

export interface EncodedRow {
  readonly record: Record<string, unknown>;
  /** Columns of the table the row did not carry (shared empty array when none). */
  readonly absent: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

/** The value of the empty `cdc.event.Absent` record; avsc picks the union's record branch for an object. */
const ABSENT: Readonly<Record<string, never>> = Object.freeze({});

export class RowCodec {
  private readonly plans: readonly ColumnPlan[];

  constructor(columns: readonly ColumnSchema[], avroNames: readonly string[]) {
    this.plans = columns.map((column, i) => ({
      name: column.name,
      avroName: avroNames[i]!,
      toAvro: converterTo(column.type),
      fromAvro: converterFrom(column.type),
      ownOnly: column.name in Object.prototype,
    }));
  }

  /** `where` names the row in an error (made only then: this runs for every row image). */
  toAvro(row: Row, where: () => string): EncodedRow {
    const record: Record<string, unknown> = {};
    let absent: string[] | null = null;
    let carried = 0;
    for (const plan of this.plans) {
      const value = plan.ownOnly && !Object.hasOwn(row, plan.name) ? undefined : row[plan.name];
      if (value === undefined) {
        (absent ??= []).push(plan.name);
        record[plan.avroName] = ABSENT;
        continue;
      }
      carried++;
      record[plan.avroName] = value === null || plan.toAvro === null ? value : plan.toAvro(value);
    }
    let keys = 0;
    // for…in rather than Object.keys: no array per row. A row is a plain object; an inherited name is not a column.
    for (const name in row) if (Object.hasOwn(row, name) && row[name] !== undefined) keys++;
    if (keys !== carried) {
      const known = new Set(this.plans.map((plan) => plan.name));
      const extra = Object.keys(row).filter((name) => !known.has(name));
      throw new CdcError(
        'SCHEMA_INCOMPATIBLE',
        `${where()} has columns its table schema does not declare: ${extra.join(', ')}`,
        {
          columns: extra.join(','),
        },
      );
    }
    return { record, absent: absent ?? NONE };
  }

  fromAvro(record: Record<string, unknown>, absent: readonly string[]): Row {
    const row: Record<string, Value> = {};
    for (const plan of this.plans) {
      if (absent.length > 0 && absent.includes(plan.name)) continue;
      const raw = record[plan.avroName];
      const value = raw === null || plan.fromAvro === null ? (raw as Value) : plan.fromAvro(raw);
      setColumn(row, plan.name, value);
    }
    return row;
  }
}

function toBuffer(value: Value): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}

function toLong(value: Value): unknown {
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
}

function converterTo(type: ColumnType): Convert | null {
  switch (type.kind) {
    case 'bytes':
      return toBuffer;
    case 'int64':
    case 'uint64':
      return toLong;
    case 'array': {
      const element = converterTo(type.element);
      if (element === null) return null;
      return (value) =>
        Array.isArray(value) ? value.map((item: Value) => (item === null ? null : element(item))) : value;
    }
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
    case 'bit':
    case 'decimal':
    case 'string':
    case 'uuid':
    case 'json':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'interval':
    case 'enum':
    case 'set':
    case 'text':
      return null;
  }
}

function converterFrom(type: ColumnType): Restore | null {
  switch (type.kind) {
    case 'bytes':
      // A copy: the decoded Buffer is a view on the whole Kafka message, which it would otherwise keep alive.
      return (value) => new Uint8Array(value as Uint8Array);
    case 'uint64':
      return (value) => BigInt.asUintN(64, value as bigint);
    case 'array': {
      const element = converterFrom(type.element);
      if (element === null) return null;
      return (value) => (value as unknown[]).map((item) => (item === null ? null : element(item)));
    }
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64':
    case 'bit':
    case 'decimal':
    case 'string':
    case 'uuid':
    case 'json':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'interval':
    case 'enum':
    case 'set':
    case 'text':
      return null;
  }
}
