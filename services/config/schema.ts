/**
 * The pipeline configuration as one zod schema: the single source of truth for validation, defaults, the
 * TypeScript types and the generated reference in README (services/config/reference.ts). Defaults that
 * depend on another field (slot and publication from the source name, a binlog server id from the name, the
 * MariaDB table filter from the URL's database) are filled in by transforms so every consumer sees them set.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { urlField } from './url.ts';
import { compileTopology } from './topology-compile.ts';
import { ORIGIN_MARKINGS, topologySchema } from './topology.ts';
import { conflictsSchema } from './conflicts.ts';
import { changelogSchema, keyedModeIssues } from './changelog.ts';
import { apiSchema } from './api.ts';
import { kafkaTopicCreationSchema } from './kafka-topic-creation.ts';
import { kafkaSaslSchema, kafkaTlsSchema } from './kafka-security.ts';
import { mysqlTlsProblems } from '../../common/connect/mysql-url.ts';
import { postgresTlsProblems } from '../../common/connect/postgres-url.ts';
import { schemaRegistrySchema } from './schema-registry.ts';
import type { UrlTlsProblem } from '../../common/connect/tls-url.ts';
import { columnsSchema } from './columns.ts';
import { subscriberTopicsSchema } from './subscriber-topics.ts';

const NAME_PATTERN = /^[a-z0-9_-]+$/;
/** `schema.table`, where either part may be `*` or end with `*` (a prefix match). */
const TABLE_PATTERN = /^[^.\s]+\.[^.\s]+$/;
const BROKER_PATTERN = /^[^\s:/]+:\d{1,5}$/;
const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9._-]+$/;

const positiveInt = (description: string) =>
  z
    .int({ error: (issue) => (issue.input === undefined ? undefined : 'must be a positive integer') })
    .positive({ error: 'must be a positive integer' })
    .meta({ description });

const componentName = (description: string) =>
  z
    .string()
    .regex(NAME_PATTERN, { error: 'must use only lowercase letters, digits, "_" and "-"' })
    .meta({ description });

/** A connection URL whose scheme must be one of `schemes`; the URL itself is never echoed (it may hold a password). */
const TLS_PROBLEMS: Record<string, ((url: string) => UrlTlsProblem[]) | undefined> = {
  postgres: postgresTlsProblems,
  postgresql: postgresTlsProblems,
  mysql: mysqlTlsProblems,
  mariadb: mysqlTlsProblems,
};

const connectionUrl = (schemes: readonly string[], description: string) =>
  urlField({
    schemes,
    example: `${schemes[0]}://user:password@host:port/database`,
    // A certificate file that is missing fails here, naming the field, rather than at the first connection.
    problems: (_parsed, scheme, value) =>
      (TLS_PROBLEMS[scheme]?.(value) ?? []).map((problem) => `${problem.parameter}: ${problem.message}`),
  }).meta({ description });

const tableList = (example: string, description: string) =>
  z
    .array(
      z.string().regex(TABLE_PATTERN, {
        error: `must be "schema.table" (\`*\` allowed), like ${JSON.stringify(example)}`,
      }),
    )
    .min(1, { error: 'must list at least one table pattern' })
    .meta({ description });

const snapshotMode = z
  .enum(['initial', 'never'])
  .default('initial')
  .meta({ description: 'Copy existing rows before streaming (`initial`) or stream only (`never`).' });
const snapshotChunkRows = positiveInt('Rows per keyset-ordered snapshot chunk.').default(10_000);
const heartbeatIntervalMs = positiveInt(
  'How often the connector reports progress when the source is idle, in ms.',
).default(10_000);
// 10,000 narrow row events are ~10 MB of JS objects; 100,000 kept a capture above 500 MB of resident memory.
const maxTransactionEvents = positiveInt(
  'Events a transaction may hold in memory before it is published in pieces.',
).default(10_000);
const ha = z.boolean().default(false).meta({
  description:
    'High availability: run this capture in several processes with the same configuration; the one holding a Kafka group lease captures, the others stand by (connector state `standby`) and one takes over about `kafka.sessionTimeoutMs` after it dies. Default off: a second process fences the first, which then stays failed.',
});

/** The slot name PostgreSQL accepts: lowercase letters, digits and underscores. */
export function defaultSlotName(sourceName: string): string {
  return `cdc_${sourceName.replaceAll('-', '_')}`;
}

export function defaultPublicationName(sourceName: string): string {
  return `cdc_${sourceName}`;
}

/**
 * The replication origin a PostgreSQL replica marks its writes with. Origins are cluster-wide and active in
 * one session at a time, so two replicas of one source on one server (two databases, two target schemas) each
 * need their own: named after the source and the replica, as a topology names a link's `cdc_<from>__<to>`.
 */
export function defaultOriginName(sourceName: string, replicaName: string): string {
  return `cdc_${sourceName}__${replicaName}`;
}

/**
 * A binlog replica server id derived from the source name: stable across restarts, and far from the small
 * ids servers usually have (1, 2, 100...), so two pipelines with different source names rarely clash.
 */
export function defaultServerId(sourceName: string): number {
  const hash = createHash('sha256').update(sourceName).digest().readUInt32BE(0);
  return 1_000_000 + (hash % 1_000_000_000);
}

const postgresSource = z
  .strictObject({
    name: componentName('Unique source name; names metrics, topics and defaults.'),
    kind: z.literal('postgres'),
    url: connectionUrl(
      ['postgres', 'postgresql'],
      'Source database URL (user needs REPLICATION). TLS: `?sslmode=verify-full&sslrootcert=/path` (libpq\'s parameters; see "A TLS-only database").',
    ),
    publication: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Publication to read. Default `cdc_<name>`.' }),
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, {
        error: 'must be 1-63 lowercase letters, digits or "_" (PostgreSQL slot name rules)',
      })
      .optional()
      .meta({ description: 'Logical replication slot. Default `cdc_<name>` with `-` turned into `_`.' }),
    tables: tableList('public.orders', 'Captured tables as `schema.table` patterns.').default(['public.*']),
    createPublication: z
      .boolean()
      .default(true)
      .meta({ description: 'Create the publication when it does not exist.' }),
    snapshot: snapshotMode,
    snapshotChunkRows,
    heartbeatIntervalMs,
    maxTransactionEvents,
    ha,
    warnRetainedWalBytes: positiveInt(
      'Warn (log, `/status` warning, `cdc_capture_slot_warning` gauge) when the slot retains more WAL than this many bytes. Default 1 GiB.',
    ).default(1024 ** 3),
    synchronous: z.boolean().default(false).meta({
      description:
        'Synchronous capture: with the source\'s `synchronous_standby_names` naming `"cdc:<name>"`, each source commit returns only once its change is committed in Kafka. The capture checks the setting and shows in `/status` (`synchronous`) whether commits wait for it; while capture is down, commits wait too (see "Synchronous capture"). Default off.',
    }),
    failover: z
      .strictObject({
        candidates: z
          .array(
            connectionUrl(
              ['postgres', 'postgresql'],
              'A server that may become the primary: a physical standby of `url` (same database name and role).',
            ),
          )
          .min(1, { error: 'must name at least one standby that may become the primary' }),
      })
      .optional()
      .meta({
        description:
          'PostgreSQL 17 or later: survive a failover of the source. The slot is created as a failover slot, which standbys with `sync_replication_slots = on` keep a copy of; when the connection is lost, capture asks `url` and each of `candidates` which is the primary now and goes on there from its copy of the slot, with nothing lost or repeated. The primary needs `synchronized_standby_slots` naming the standbys\' physical slots (else a warning: see "Source failover"). Refused on older servers.',
      }),
    onSlotLost: z.enum(['stop', 'resnapshot']).default('stop').meta({
      description:
        'When the slot is gone or invalidated (`wal_status = lost`) although capture already published from it (a failover to a server without it, a drop, `max_slot_wal_keep_size`), the changes in between are lost. `stop`: capture stops with `SLOT_INVALID` and `/status` shows `resnapshot.state: needed` until an operator runs `cdc resnapshot` (POST /connectors/<name>/resnapshot). `resnapshot`: capture does it by itself, with a warning: a new slot, and every captured table copied again replacing the replicas\' copies (see "Re-snapshot after a lost slot").',
    }),
    columns: columnsSchema,
    subscriberTopics: subscriberTopicsSchema,
    changelog: changelogSchema,
  })
  .transform((source) => ({
    ...source,
    publication: source.publication ?? defaultPublicationName(source.name),
    slot: source.slot ?? defaultSlotName(source.name),
  }));

const binlogSource = z
  .strictObject({
    name: componentName('Unique source name; names metrics, topics and defaults.'),
    kind: z.enum(['mariadb', 'mysql']),
    url: connectionUrl(
      ['mysql', 'mariadb'],
      'Source server URL (user needs REPLICATION SLAVE, REPLICATION CLIENT, SELECT). TLS: `?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path` (see "A TLS-only database").',
    ),
    candidates: z
      .array(
        connectionUrl(
          ['mysql', 'mariadb'],
          'Another server of the same GTID replication group, with the same user and TLS settings as `url`.',
        ),
      )
      .optional()
      .meta({
        description:
          'MariaDB only: other servers of the source\'s GTID replication group (replicas with `log_slave_updates=ON`, `read_only=ON`). Capture reads the writable one among `url` and these, and after a primary switch resumes on the new primary from the last published GTID (see "Following a primary switch"). Default: none (`url` only).',
      }),
    serverId: z
      .int({ error: 'must be an integer from 1 to 4294967295' })
      .min(1, { error: 'must be an integer from 1 to 4294967295' })
      .max(4_294_967_295, { error: 'must be an integer from 1 to 4294967295' })
      .optional()
      .meta({
        description:
          'Server id the binlog client registers with; unique among the replicas of that server. Default derived from the name.',
      }),
    tables: tableList(
      'shop.orders',
      'Captured tables as `database.table` patterns. Default `<database of url>.*`.',
    ).optional(),
    snapshot: snapshotMode,
    snapshotChunkRows,
    heartbeatIntervalMs,
    maxTransactionEvents,
    ha,
    synchronous: z
      .literal(false, {
        error:
          'synchronous capture needs a PostgreSQL source: MariaDB and MySQL wait for semi-synchronous replicas, which must acknowledge events in the binlog protocol, and the binlog client cannot (see "Synchronous capture")',
      })
      .optional()
      .meta({ description: 'PostgreSQL only; must be absent or false here.' }),
    columns: columnsSchema,
    subscriberTopics: subscriberTopicsSchema,
    changelog: changelogSchema,
  })
  .transform((source, ctx) => {
    const problems = candidateProblems(source);
    for (const problem of problems) ctx.issues.push({ code: 'custom', input: source.candidates, ...problem });
    if (problems.length > 0) return z.NEVER;
    const database = databaseOf(source.url);
    if (source.tables === undefined && database === null) {
      ctx.issues.push({
        code: 'custom',
        path: ['tables'],
        message: 'is required when the url names no database',
        input: source.tables,
      });
      return z.NEVER;
    }
    return {
      ...source,
      serverId: source.serverId ?? defaultServerId(source.name),
      tables: source.tables ?? [`${database}.*`],
    };
  });

/** `candidates` is MariaDB's, and names each server once (`url` included), compared by host and port. */
function candidateProblems(source: {
  readonly kind: 'mariadb' | 'mysql';
  readonly url: string;
  readonly candidates?: readonly string[] | undefined;
}): { path: (string | number)[]; message: string }[] {
  const candidates = source.candidates ?? [];
  if (candidates.length === 0) return [];
  if (source.kind !== 'mariadb')
    return [
      {
        path: ['candidates'],
        message:
          'is supported for MariaDB sources only (a resume on another server relies on MariaDB domain-server-seq GTIDs); remove it',
      },
    ];
  const hostOf = (url: string) => {
    try {
      const parsed = new URL(url);
      return `${parsed.hostname}:${parsed.port === '' ? '3306' : parsed.port}`;
    } catch {
      return url;
    }
  };
  const seen = new Map<string, string>([[hostOf(source.url), 'url']]);
  const problems: { path: (string | number)[]; message: string }[] = [];
  candidates.forEach((candidate, index) => {
    const host = hostOf(candidate);
    const first = seen.get(host);
    if (first !== undefined)
      problems.push({
        path: ['candidates', index],
        message: `names the server ${host} again (also ${first}): list each server of the group once`,
      });
    else seen.set(host, `candidates[${index}]`);
  });
  return problems;
}

export function databaseOf(url: string): string | null {
  try {
    const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return name === '' ? null : name;
  } catch {
    return null;
  }
}

const source = z.discriminatedUnion('kind', [postgresSource, binlogSource]);

const replicaFields = z.strictObject({
  name: componentName('Unique replica name; names the consumer group and metrics.'),
  source: z.string().meta({ description: 'Name of the source (above) whose changes this replica applies.' }),
  kind: z.enum(['postgres', 'mariadb']).meta({ description: 'Target database kind.' }),
  url: connectionUrl(
    ['postgres', 'postgresql', 'mysql', 'mariadb'],
    'Target database URL. TLS: `sslmode`, `sslrootcert`, `sslcert`, `sslkey` (PostgreSQL) or `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key` (MariaDB/MySQL); see "A TLS-only database".',
  ),
  readyMaxLagMs: z
    .int({ error: 'must be a whole number of milliseconds, at least 1' })
    .min(1, { error: 'must be a whole number of milliseconds, at least 1' })
    .optional()
    .meta({
      description:
        "`/ready` answers 503 while this replica's end-to-end lag is above this many ms, naming the replica and its lag, so a load balancer stops sending reads to a process whose replica is behind. Default: off.",
    }),
  onError: z.enum(['dead-letter', 'stop']).default('dead-letter').meta({
    description: 'An event that cannot be applied goes to the dead-letter topic, or stops the worker.',
  }),
  batch: z
    .strictObject({
      maxEvents: positiveInt('Most events applied in one target transaction.').default(5_000),
      maxMillis: positiveInt(
        'Longest a target transaction should take: after a slower one the worker applies fewer events per target transaction (sized from the measured time per event) until the target is fast again. A source transaction still applies whole.',
      ).default(2_000),
    })
    .default({ maxEvents: 5_000, maxMillis: 2_000 })
    .meta({ description: 'How source transactions are grouped into target transactions.' }),
  origin: z.boolean().default(true).meta({
    description:
      'Mark replicated writes with a replication origin, so capture downstream can tell them apart.',
  }),
  originName: z.string().min(1).optional().meta({
    description:
      'PostgreSQL replication origin marking the writes. Default `cdc_<source>__<replica>`; a topology names one per link.',
  }),
  originsByNode: z.record(z.string(), z.string().min(1)).optional().meta({
    description:
      'PostgreSQL: the replication origin marking a change the source re-publishes, by the node its `source.origin` names, instead of `originName`, so the next tier still knows where it was first written. A topology sets it on cascade and fan-in links.',
  }),
  originMarking: z.enum(ORIGIN_MARKINGS).default('auto').meta({
    description:
      'How the writes are marked when `origin` is on: `native` (replication origin, session server_id), `marker-row` (a row of `cdc_apply.origin_marks` first in each transaction, no privilege needed, no conflict handling), `auto` (in a topology: native where the user may, else marker-row, decided at start-up; elsewhere native). A topology sets it from the target node.',
  }),
  targetSchema: z.string().min(1).optional().meta({
    description:
      "PostgreSQL target: the schema every replicated table goes to. Default the source's schema (for a MariaDB/MySQL source, its database name); a topology link from a MariaDB/MySQL node defaults to `public`.",
  }),
  conflicts: conflictsSchema.optional().meta({
    description: 'Conflict detection and resolution of this replica (see docs/conflicts.md).',
  }),
  via: z
    .strictObject({
      brokers: z
        .array(z.string().regex(BROKER_PATTERN, { error: 'must be "host:port"' }))
        .min(1, { error: 'must list at least one broker' })
        .optional()
        .meta({ description: 'Bootstrap brokers of the cluster holding the copy. Default `kafka.brokers`.' }),
      topicPrefix: z
        .string()
        .regex(TOPIC_PREFIX_PATTERN, {
          error: 'must use only letters, digits, ".", "_" and "-" (Kafka topic rules)',
        })
        .optional()
        .meta({
          description:
            "Prefix of the copy's topic names. Default `kafka.topicPrefix`; MirrorMaker 2's default replication policy names a copy `<source cluster alias>.<topic>`, so `<alias>.<topicPrefix>`.",
        }),
    })
    .optional()
    .meta({
      description:
        "Read the source's changelog and schema topics from a copy: another Kafka cluster and/or another topic prefix, such as MirrorMaker 2's mirror of another region's topics (see Regions with their own Kafka). The consumer group lives in that cluster; dead letters stay in `kafka`.",
    }),
});

// MariaDB keeps no per-row commit time and origin, and its binlog times are seconds: no version to compare.
const replica = replicaFields.superRefine((r, ctx) => {
  if (r.originMarking === 'marker-row' && r.conflicts?.enabled === true)
    ctx.addIssue({
      code: 'custom',
      path: ['conflicts', 'enabled'],
      message:
        'conflict handling needs native origin marking (it compares the origin and commit time PostgreSQL keeps per row, which a marker row does not set): set originMarking to native, with EXECUTE on pg_replication_origin_* granted, or turn conflict handling off',
    });
  if (r.kind === 'mariadb' && r.conflicts?.enabled === true)
    ctx.addIssue({
      code: 'custom',
      path: ['conflicts', 'enabled'],
      message:
        'conflict handling is available on PostgreSQL targets only: MariaDB keeps no per-row commit time and origin to compare versions by (see docs/conflicts.md)',
    });
});

const kafka = z.strictObject({
  brokers: z
    .array(z.string().regex(BROKER_PATTERN, { error: 'must be "host:port"' }))
    .min(1, { error: 'must list at least one broker' })
    .meta({ description: 'Bootstrap brokers, `host:port`.' }),
  clientId: z.string().min(1).default('cdc').meta({ description: 'Kafka client id.' }),
  tls: kafkaTlsSchema.optional().meta({
    description:
      'TLS to the brokers (SSL or SASL_SSL listeners): certificate authorities, a client certificate, the server-name check. Every client of the service uses it, `replicas[].via` included.',
  }),
  sasl: kafkaSaslSchema.optional().meta({
    description:
      'SASL authentication (SASL_SSL with `tls`, SASL_PLAINTEXT without). Every client of the service uses it, `replicas[].via` included.',
  }),
  topicPrefix: z
    .string()
    .regex(TOPIC_PREFIX_PATTERN, {
      error: 'must use only letters, digits, ".", "_" and "-" (Kafka topic rules)',
    })
    .default('cdc')
    .meta({ description: 'Prefix of every topic the pipeline creates.' }),
  partitions: z
    .int({ error: 'must be 1' })
    .min(1, { error: 'must be 1' })
    .max(1, {
      error:
        'must be 1: capture writes each source\'s changes to one partition, in commit order, so further partitions would stay empty; a changelog partitioned by key is chosen per source (sources[].changelog: {mode: "keyed", partitions: N})',
    })
    .default(1)
    .meta({
      description:
        'Partitions of each ordered changelog topic: 1, the one partition capture writes to. A keyed changelog takes its count from `sources[].changelog.partitions`.',
    }),
  sessionTimeoutMs: z
    .int({ error: 'must be a whole number of milliseconds' })
    .min(6_000, { error: 'must be at least 6000 (the broker default group.min.session.timeout.ms)' })
    .max(300_000, { error: 'must be at most 300000 (the broker default group.max.session.timeout.ms)' })
    .default(30_000)
    .meta({
      description:
        'Consumer group session timeout of the apply workers and of the capture lease (`sources[].ha`): how long a worker or capture that died without leaving its group holds its partitions or the lease before another instance takes over.',
    }),
  compression: z.enum(['none', 'gzip', 'zstd']).default('none').meta({
    description:
      "Compression of the record batches the pipeline produces: gzip, or zstd (Node's own zlib; faster than gzip and usually smaller). Every consumer of the topics needs the codec.",
  }),
  maxEventBytes: z
    .int({ error: 'must be a whole number of bytes' })
    .min(1_024, { error: 'must be at least 1024' })
    .max(67_108_864, {
      error:
        'must be at most 67108864 (64 MiB): a produce request must stay under the broker socket.request.max.bytes (100 MiB by default)',
    })
    .default(1_048_576)
    .meta({
      description:
        'Largest change event, in bytes as encoded (key, value and headers, before compression). Changelog and dead-letter topics are created with a `max.message.bytes` to match, and an existing one is raised to it; a larger event is handled as `oversizedEvents` says.',
    }),
  oversizedEvents: z.enum(['fail', 'sideTopic']).default('fail').meta({
    description:
      'An event larger than `maxEventBytes` stops capture with an error naming its table, key, position and size (`fail`), or goes by key and reason to the topic `<topicPrefix>.<source>.oversized`, in the same Kafka transaction as the events around it, so capture goes on and replicas miss only that change (`sideTopic`).',
  }),
  topicCreation: kafkaTopicCreationSchema.optional().meta({
    description:
      'Replication factor, `min.insync.replicas` and retention of the topics the service creates (changelog, dead letters, schemas).',
  }),
  schemaRegistry: schemaRegistrySchema.optional().meta({
    description:
      'Confluent-compatible schema registry: keys and values are written in the Confluent wire format with their schemas registered there (see Schema registry). Absent: single-object Avro with schemas in the embedded topic `<topicPrefix>._schemas`.',
  }),
});

export const pipelineConfigSchema = z
  .strictObject({
    name: componentName('Pipeline name.'),
    kafka: kafka.meta({ description: 'The Kafka cluster events and the service state are kept in.' }),
    sources: z.array(source).default([]).meta({
      description: 'Databases whose changes are captured (at least one, unless `topology` is set).',
    }),
    replicas: z.array(replica).default([]).meta({ description: 'Databases kept in sync from a source.' }),
    api: apiSchema
      .default({
        host: '127.0.0.1',
        port: 8080,
        tokens: [],
        openProbes: true,
        verifyConcurrency: 1,
        waitConcurrency: 256,
      })
      .meta({
        description: 'Control and status API.',
      }),
    topology: topologySchema.optional().meta({
      description:
        'Nodes and the links between them (cascade, pair, mesh, fan-in), compiled into `sources` and `replicas` (see Topologies).',
    }),
    shutdownTimeoutMs: z
      .int({ error: 'must be a whole number of milliseconds' })
      .min(1_000, { error: 'must be at least 1000 (1 s)' })
      .default(20_000)
      .meta({
        description:
          'How long `cdc run` may take to stop after SIGTERM or SIGINT; past it, the process logs what it still waits for and exits with code 1.',
      }),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .meta({ description: 'Log level; the environment variable `CDC_LOG_LEVEL`, when set, overrides it.' }),
  })
  .superRefine((config, ctx) => {
    if (config.sources.length === 0 && config.topology === undefined)
      ctx.addIssue({ code: 'custom', path: ['sources'], message: 'must list at least one source' });
    reportDuplicates(
      ctx,
      'sources',
      'name',
      'source name',
      config.sources.map((s) => s.name),
    );
    reportDuplicates(
      ctx,
      'replicas',
      'name',
      'replica name',
      config.replicas.map((r) => r.name),
    );
    reportDuplicates(
      ctx,
      'sources',
      'slot',
      'slot',
      config.sources.map((s) => (s.kind === 'postgres' ? `${hostOf(s.url)}|${s.slot}` : null)),
      (key) => key.split('|')[1] ?? key,
    );
    reportDuplicates(
      ctx,
      'sources',
      'serverId',
      'server id',
      config.sources.map((s) => (s.kind === 'postgres' ? null : String(s.serverId))),
    );
    config.sources.forEach((s, index) => {
      if (s.subscriberTopics?.format === 'debezium-avro' && config.kafka.schemaRegistry === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['sources', index, 'subscriberTopics', 'format'],
          message:
            '"debezium-avro" needs kafka.schemaRegistry: Avro subscribers read the schemas from a registry (or use "debezium-json")',
        });
    });
    const sourceNames = config.sources.map((s) => s.name);
    config.replicas.forEach((r, index) => {
      if (!sourceNames.includes(r.source)) {
        ctx.addIssue({
          code: 'custom',
          path: ['replicas', index, 'source'],
          message: `names no source: ${JSON.stringify(r.source)} is not one of ${sourceNames.map((n) => JSON.stringify(n)).join(', ')}`,
        });
      }
    });
    for (const issue of keyedModeIssues(config.sources, config.replicas))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .transform((config, ctx) => {
    if (config.topology === undefined) return { ...config, topology: undefined };
    const before = ctx.issues.length;
    const compiled = compileTopology(
      config.topology,
      {
        source,
        replica,
        replicaServerId: (name) => defaultServerId(`replica:${name}`),
        taken: { sources: config.sources.map((s) => s.name), replicas: config.replicas.map((r) => r.name) },
      },
      (issue) =>
        ctx.issues.push({ code: 'custom', input: undefined, ...issue, path: ['topology', ...issue.path] }),
    );
    if (ctx.issues.length > before) return z.NEVER;
    return {
      ...config,
      sources: [...config.sources, ...compiled.sources],
      replicas: [...config.replicas, ...compiled.replicas],
      topology: compiled.topology,
    };
  });

/** Reports every entry of `values` that repeats an earlier one (null entries are not compared). */
function reportDuplicates(
  ctx: z.RefinementCtx,
  list: string,
  field: string,
  what: string,
  values: readonly (string | null)[],
  show: (value: string) => string = (value) => value,
): void {
  const seen = new Map<string, number>();
  values.forEach((value, index) => {
    if (value === null) return;
    const first = seen.get(value);
    if (first === undefined) {
      seen.set(value, index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [list, index, field],
      message: `duplicate ${what} ${JSON.stringify(show(value))} (also ${list}[${first}].${field})`,
    });
  });
}

/** Host and database of a URL, so two slots of the same name on different servers do not count as a clash. */
function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return url;
  }
}

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
/** What a configuration file may contain before defaults are applied. */
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;
export type SourceConfig = PipelineConfig['sources'][number];
export type PostgresSourceConfig = Extract<SourceConfig, { kind: 'postgres' }>;
export type BinlogSourceConfig = Extract<SourceConfig, { kind: 'mariadb' | 'mysql' }>;
export type ReplicaConfig = PipelineConfig['replicas'][number];
export type KafkaConfig = PipelineConfig['kafka'];
export type { ApiConfig } from './api.ts';
