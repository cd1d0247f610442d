/**
 * A migration read from an ordinary pipeline configuration: the MariaDB source, the PostgreSQL replica that
 * becomes the new primary, and the names of the reverse path (PostgreSQL → MariaDB) derived from them. No extra
 * configuration section: every name is derived, so `start`, `cutover` and `reverse` agree without storing it.
 */
import { CdcError } from '../../common/errors.ts';
import {
  defaultOriginName,
  defaultPublicationName,
  defaultSlotName,
  pipelineConfigSchema,
  type BinlogSourceConfig,
  type PipelineConfig,
  type ReplicaConfig,
} from '../config/schema.ts';

export interface MigrationPlan {
  /** Names the migration's state row on the target (`cdc_migrate.cutover`). */
  readonly name: string;
  readonly config: PipelineConfig;
  readonly source: BinlogSourceConfig;
  readonly replica: ReplicaConfig;
  /** MariaDB databases captured; the PostgreSQL sink puts each in a schema of the same name. */
  readonly schemas: readonly string[];
  /** Replication origin the forward apply marks its PostgreSQL commits with. */
  readonly forwardOrigin: string;
  readonly reverse: ReverseNames;
}

export interface ReverseNames {
  /** The new PostgreSQL database as a source. */
  readonly sourceName: string;
  /** The old MariaDB database as a replica of it. */
  readonly replicaName: string;
  readonly slot: string;
  readonly publication: string;
  /** `schema.table` patterns on PostgreSQL: the forward source's patterns, since schema = MariaDB database. */
  readonly tables: readonly string[];
  /** Where the reverse apply writes: the MariaDB source server (its database kept when only one is captured). */
  readonly mariadbUrl: string;
}

function invalid(message: string): CdcError {
  return new CdcError('MIGRATION_INVALID', message, {});
}

/**
 * Picks the replica to migrate to (`replicaName`, or the only PostgreSQL replica of a MariaDB source) and
 * checks what the workflow relies on.
 */
export function migrationPlan(config: PipelineConfig, replicaName?: string): MigrationPlan {
  const candidates = config.replicas.filter(
    (r) => r.kind === 'postgres' && config.sources.some((s) => s.name === r.source && s.kind === 'mariadb'),
  );
  const replica =
    replicaName === undefined
      ? candidates[0]
      : config.replicas.find((candidate) => candidate.name === replicaName);
  if (replica === undefined) {
    throw invalid(
      replicaName === undefined
        ? `${config.name}: a migration needs a replica of kind postgres whose source is of kind mariadb; the configuration has none`
        : `${config.name}: no replica named ${JSON.stringify(replicaName)}`,
    );
  }
  if (replicaName === undefined && candidates.length > 1) {
    throw invalid(
      `${config.name}: several PostgreSQL replicas of MariaDB sources (${candidates.map((c) => c.name).join(', ')}); choose one with --replica`,
    );
  }
  const source = config.sources.find((s) => s.name === replica.source);
  if (replica.kind !== 'postgres' || source?.kind !== 'mariadb') {
    throw invalid(`replica ${replica.name}: a migration goes from a mariadb source to a postgres replica`);
  }
  // The new database becomes the primary at cutover: it must hold every value, not masks of them.
  if (source.columns !== undefined && Object.keys(source.columns).length > 0) {
    throw invalid(
      `source ${source.name}: columns must not be set: a migration copies every value to the new primary, and the reverse path would write masks back`,
    );
  }
  // Cutover waits for one applied position to cover the source's fence; a keyed replica has one per partition.
  if (source.changelog.mode !== 'ordered') {
    throw invalid(
      `source ${source.name}: changelog.mode must be "ordered": cutover waits until the replica's applied position covers the fenced source, and a keyed changelog gives one position per partition and no whole transactions`,
    );
  }
  if (source.snapshot !== 'initial') {
    throw invalid(`source ${source.name}: snapshot must be "initial" so the replica starts with a full copy`);
  }
  if (!replica.origin) {
    throw invalid(
      `replica ${replica.name}: origin must be true: the reverse path tells the forward stream's writes apart by their replication origin`,
    );
  }
  const schemas = [...new Set(source.tables.map((pattern) => pattern.slice(0, pattern.indexOf('.'))))];
  if (schemas.some((schema) => schema.includes('*'))) {
    throw invalid(
      `source ${source.name}: tables must name databases ("shop.*" or "shop.orders"), not database patterns`,
    );
  }
  const reverseSource = `${replica.name}-back`;
  return {
    name: `${config.name}.${replica.name}`,
    config,
    source,
    replica,
    schemas,
    forwardOrigin: replica.originName ?? defaultOriginName(source.name, replica.name),
    reverse: {
      sourceName: reverseSource,
      replicaName: `${source.name}-back`,
      slot: defaultSlotName(reverseSource),
      publication: defaultPublicationName(reverseSource),
      tables: source.tables,
      mariadbUrl: schemas.length === 1 ? source.url : withoutDatabase(source.url),
    },
  };
}

function withoutDatabase(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/';
  return parsed.toString();
}

/**
 * The reverse pipeline as a configuration of its own: PostgreSQL (the new primary) captured from the slot made
 * at cutover (`snapshot: never`: the old database already holds everything up to it) into a MariaDB replica.
 */
export function reverseConfig(plan: MigrationPlan): PipelineConfig {
  const { config, source, replica, reverse } = plan;
  return pipelineConfigSchema.parse({
    name: `${config.name}-back`,
    kafka: {
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      tls: config.kafka.tls,
      sasl: config.kafka.sasl,
      topicPrefix: config.kafka.topicPrefix,
    },
    sources: [
      {
        name: reverse.sourceName,
        kind: 'postgres',
        url: replica.url,
        slot: reverse.slot,
        publication: reverse.publication,
        tables: [...reverse.tables],
        snapshot: 'never',
        heartbeatIntervalMs: source.heartbeatIntervalMs,
      },
    ],
    replicas: [
      {
        name: reverse.replicaName,
        source: reverse.sourceName,
        kind: 'mariadb',
        url: reverse.mariadbUrl,
        onError: replica.onError,
        batch: replica.batch,
        origin: true,
      },
    ],
    api: { host: config.api.host, port: 0 },
    logLevel: config.logLevel,
  });
}
