/**
 * The Debezium Server settings the peer bench runs with: what every run shares (Kafka sink, file offsets), what
 * each source needs, and the configurations compared, as its users run it. Printed with the results.
 */
export type Settings = Readonly<Record<string, string>>;

/** The JVM's heap, capped so its memory compares with ours fairly (its RSS follows the heap limit). */
export const DEBEZIUM_HEAP = '-Xmx512m';

export interface DebeziumConfiguration {
  readonly name: string;
  /** What this configuration sets beyond the shared and source settings. */
  readonly settings: Settings;
}

/** Larger batches and queue for a catch-up (defaults: 2,048 records a batch, 8,192 queued, 16 KB producer batches). */
const CATCH_UP: Settings = {
  'debezium.source.max.batch.size': '8192',
  'debezium.source.max.queue.size': '32768',
  'debezium.sink.kafka.producer.batch.size': '1048576',
  'debezium.sink.kafka.producer.linger.ms': '10',
};

const NO_SCHEMAS: Settings = {
  'debezium.format.key.schemas.enable': 'false',
  'debezium.format.value.schemas.enable': 'false',
};

export const DEBEZIUM_CONFIGURATIONS: readonly DebeziumConfiguration[] = [
  { name: 'JSON + schemas, defaults', settings: {} },
  { name: 'JSON + schemas, catch-up sizes', settings: CATCH_UP },
  { name: 'JSON, no schemas, catch-up sizes', settings: { ...CATCH_UP, ...NO_SCHEMAS } },
];

/**
 * The Kafka sink (JSON, Debezium Server's default format, as strings; acks=all and idempotence are the
 * producer's defaults) and offsets in a file under the server's folder.
 */
export function sharedSettings(brokers: readonly string[], topicPrefix: string): Settings {
  return {
    'debezium.sink.type': 'kafka',
    'debezium.sink.kafka.producer.bootstrap.servers': brokers.join(','),
    'debezium.sink.kafka.producer.key.serializer': 'org.apache.kafka.common.serialization.StringSerializer',
    'debezium.sink.kafka.producer.value.serializer': 'org.apache.kafka.common.serialization.StringSerializer',
    'debezium.source.offset.storage.file.filename': 'data/offsets.dat',
    'debezium.source.topic.prefix': topicPrefix,
    'quarkus.log.level': 'INFO',
  };
}

/** Streams from a replication slot made before the rows were written (no snapshot: it starts at the slot). */
export function postgresSettings(url: string, slot: string, publication: string, table: string): Settings {
  const parsed = new URL(url);
  return {
    'debezium.source.connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    ...databaseSettings(url, 5432),
    'debezium.source.database.dbname': parsed.pathname.slice(1),
    'debezium.source.plugin.name': 'pgoutput',
    'debezium.source.slot.name': slot,
    'debezium.source.publication.name': publication,
    'debezium.source.publication.autocreate.mode': 'disabled',
    'debezium.source.snapshot.mode': 'no_data',
    'debezium.source.table.include.list': table,
  };
}

/**
 * Reads the binlog from its stored offset. Binlog connectors have no "from the start of the binlog without a
 * snapshot" mode, so a first run (no_data) records where the binlog ends before the rows are written.
 */
export function mariadbSettings(url: string, serverId: number, database: string, tables: string[]): Settings {
  return {
    'debezium.source.connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
    ...databaseSettings(url, 3306),
    'debezium.source.database.server.id': String(serverId),
    'debezium.source.database.include.list': database,
    'debezium.source.table.include.list': tables.map((table) => `${database}.${table}`).join(','),
    'debezium.source.snapshot.mode': 'no_data',
    // No global read lock on the shared server: nothing writes to this database while the first run starts.
    'debezium.source.snapshot.locking.mode': 'none',
    'debezium.source.schema.history.internal': 'io.debezium.storage.file.history.FileSchemaHistory',
    'debezium.source.schema.history.internal.file.filename': 'data/schema-history.dat',
    // Its schema-change topic: no DDL happens during the runs, and the broker does not create topics.
    'debezium.source.include.schema.changes': 'false',
  };
}

function databaseSettings(url: string, defaultPort: number): Settings {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  return {
    'debezium.source.database.hostname': parsed.hostname,
    'debezium.source.database.port': parsed.port === '' ? String(defaultPort) : parsed.port,
    'debezium.source.database.user': decodeURIComponent(parsed.username),
    ...(password === '' ? {} : { 'debezium.source.database.password': password }),
  };
}

/** The settings as printed: passwords hidden. */
export function printable(settings: Settings): string[] {
  return Object.entries(settings).map(([key, value]) => `${key}=${key.endsWith('password') ? '***' : value}`);
}
