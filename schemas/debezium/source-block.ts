/**
 * The envelope's `source` struct, as Debezium's PostgresSourceInfoStructMaker and
 * MySqlSourceInfoStructMaker / MariaDbSourceInfoStructMaker build it, filled from our SourceInfo and position.
 */
import type { ChangeEvent } from '../events/change-event.ts';
import type { TableSchema } from '../events/table-schema.ts';
import { field, plain, struct, type ConnectSchema, type JsonValue } from './connect-schema.ts';

interface SourceOptions {
  readonly prefix: string;
  readonly version: string;
}

export interface SourceBlock {
  readonly schema: ConnectSchema;
  payload(event: ChangeEvent, options: SourceOptions): Record<string, JsonValue>;
}

const SNAPSHOT = {
  type: 'string',
  optional: true,
  name: 'io.debezium.data.Enum',
  version: 1,
  parameters: {
    allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental',
  },
  default: 'false',
} as const satisfies ConnectSchema;

const common = [
  field('version', plain('string', false)),
  field('connector', plain('string', false)),
  field('name', plain('string', false)),
  field('ts_ms', plain('int64', false)),
  field('snapshot', SNAPSHOT),
  field('db', plain('string', false)),
  field('sequence', plain('string', true)),
  field('ts_us', plain('int64', true)),
  field('ts_ns', plain('int64', true)),
];

const POSTGRES = struct(
  'io.debezium.connector.postgresql.Source',
  [
    ...common,
    field('schema', plain('string', false)),
    field('table', plain('string', false)),
    field('txId', plain('int64', true)),
    field('lsn', plain('int64', true)),
    field('xmin', plain('int64', true)),
  ],
  false,
);

const binlogFields = [
  ...common,
  field('table', plain('string', true)),
  field('server_id', plain('int64', false)),
  field('gtid', plain('string', true)),
  field('file', plain('string', false)),
  field('pos', plain('int64', false)),
  field('row', plain('int32', false)),
  field('thread', plain('int64', true)),
  field('query', plain('string', true)),
];
const MYSQL = struct('io.debezium.connector.mysql.Source', binlogFields, false);
const MARIADB = struct('io.debezium.connector.mariadb.Source', binlogFields, false);

function commonPayload(
  event: ChangeEvent,
  options: SourceOptions,
  connector: string,
): Record<string, JsonValue> {
  const micros = event.source.commitTimeMicros;
  return {
    version: options.version,
    connector,
    name: options.prefix,
    ts_ms: micros / 1000n,
    snapshot: event.source.snapshot ? 'true' : 'false',
    db: event.table.database,
    sequence: null,
    ts_us: micros,
    ts_ns: micros * 1000n,
  };
}

const postgres: SourceBlock = {
  schema: POSTGRES,
  payload(event, options) {
    const commit = event.source.position.commit;
    const txId = event.source.txId;
    return {
      ...commonPayload(event, options, 'postgresql'),
      schema: event.table.schema,
      table: event.table.table,
      txId: txId !== null && /^\d+$/.test(txId) ? BigInt(txId) : null,
      // The commit's LSN: our events carry their commit position, not each change's own WAL position.
      lsn: commit.kind === 'pg' ? commit.lsn : null,
      xmin: null,
    };
  },
};

function binlog(schema: ConnectSchema, connector: 'mysql' | 'mariadb'): SourceBlock {
  return {
    schema,
    payload(event, options) {
      const commit = event.source.position.commit;
      const binlogCommit = commit.kind === 'binlog' ? commit : null;
      return {
        ...commonPayload(event, options, connector),
        table: event.table.table,
        // The originating server when the change was replicated into the source; 0 when not known.
        server_id:
          event.source.origin !== null && /^\d+$/.test(event.source.origin)
            ? BigInt(event.source.origin)
            : 0n,
        gtid: event.source.txId,
        file: binlogCommit?.file ?? '',
        pos: BigInt(binlogCommit?.offset ?? 0),
        row: event.source.position.index,
        thread: null,
        query: null,
      };
    },
  };
}

const mysql = binlog(MYSQL, 'mysql');
const mariadb = binlog(MARIADB, 'mariadb');

export function sourceBlock(table: TableSchema, flavor: 'mysql' | 'mariadb'): SourceBlock {
  if (table.dialect === 'postgres') return postgres;
  return flavor === 'mysql' ? mysql : mariadb;
}
