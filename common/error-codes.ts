/**
 * The catalog of error codes: one line of documentation each, whether retrying can help, and the HTTP status
 * the API answers with. README's "Errors" section is generated from nothing else but this table.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: {
    retriable: false,
    http: 400,
    doc: 'The pipeline configuration failed validation; the message names the field.',
  },
  CONFIG_UNREADABLE: {
    retriable: false,
    http: 400,
    doc: 'The configuration file could not be read or parsed as YAML/JSON.',
  },
  POSITION_INVALID: {
    retriable: false,
    http: 400,
    doc: 'A source position (LSN, GTID set) could not be parsed.',
  },
  POSITION_MISMATCH: {
    retriable: false,
    http: 500,
    doc: 'Two positions of different source kinds were compared.',
  },
  SOURCE_UNREACHABLE: {
    retriable: true,
    http: 503,
    doc: 'The source database could not be reached; retried with backoff.',
  },
  SOURCE_NOT_CONFIGURED: {
    retriable: false,
    http: 500,
    doc: 'The source server is not set up for change capture (wal_level, binlog format, ...); the message says what to change.',
  },
  SOURCE_PRIVILEGE: {
    retriable: false,
    http: 500,
    doc: 'The source user lacks a privilege the connector needs; the message names it.',
  },
  SOURCE_TABLE_UNSUPPORTED: {
    retriable: false,
    http: 500,
    doc: 'A captured table cannot be captured as configured (for example it does not exist, or a snapshot was asked of a table outside the publication).',
  },
  SOURCE_STREAM_LOST: {
    retriable: true,
    http: 503,
    doc: 'The replication stream dropped; the connector reconnects with backoff.',
  },
  SOURCE_POSITION_MISSING: {
    retriable: false,
    http: 500,
    doc: 'The MariaDB/MySQL server capture must resume on does not hold the GTID position of the last change published: after a primary switch, that transaction never reached the new primary (the old one crashed before it replicated); or the binlog holding it was purged. Resuming would lose or reorder changes, so capture stops. The message names the GTID and the server; bring the missing transactions back, or re-snapshot the replicas.',
  },
  SLOT_INVALID: {
    retriable: false,
    http: 500,
    doc: 'The replication slot cannot be used (another plugin, another database, a physical slot), or it was lost: gone or invalidated (`wal_status = lost`) although capture published from it, so changes were lost and a re-snapshot is needed (`cdc resnapshot`, or `sources[].onSlotLost: resnapshot`; see "Re-snapshot after a lost slot").',
  },
  DECODE_FAILED: {
    retriable: false,
    http: 500,
    doc: 'A value from the source could not be decoded into the change-event model.',
  },
  SCHEMA_UNKNOWN: {
    retriable: true,
    http: 500,
    doc: 'An event refers to a schema fingerprint that is not (yet) in the schema store.',
  },
  SCHEMA_INCOMPATIBLE: {
    retriable: false,
    http: 500,
    doc: 'A schema change cannot be represented for consumers.',
  },
  SCHEMA_REFUSED: {
    retriable: false,
    http: 500,
    doc: "A table's schema read from Kafka holds a type, name or constraint the target's DDL grammar does not take (an injected statement, an overlong name); no DDL runs for the table and its events go to the dead-letter topic. The message names the table, the column and the text.",
  },
  CHANGELOG_GAP: {
    retriable: false,
    http: 500,
    doc: 'Records of a changelog were deleted (its retention ran out, or the topic was emptied) before the apply worker read them, so the replica misses their changes; the worker stops. The message names the partition and the offsets lost, and how to go on.',
  },
  REGISTRY_UNAVAILABLE: {
    retriable: true,
    http: 503,
    doc: 'The schema registry (`kafka.schemaRegistry`) could not be reached or answered 5xx; retried for up to `retryTimeoutMs`.',
  },
  REGISTRY_FAILED: {
    retriable: false,
    http: 502,
    doc: "The schema registry refused a request (authentication, an invalid schema) or stayed unreachable past `kafka.schemaRegistry.retryTimeoutMs`; the message names the subject or schema id and the registry's answer.",
  },
  REGISTRY_INCOMPATIBLE: {
    retriable: false,
    http: 409,
    doc: "A table's new schema is refused by its subject's compatibility level (a type change such as text to integer) and `kafka.schemaRegistry.onIncompatible` is `stop`; the message names the subject, the table and the columns.",
  },
  KAFKA_UNAVAILABLE: {
    retriable: true,
    http: 503,
    doc: 'The Kafka cluster could not be reached or refused a request; retried.',
  },
  KAFKA_TLS_FAILED: {
    retriable: false,
    http: 500,
    doc: 'A TLS connection to a broker failed: its certificate is not trusted (kafka.tls.caFile), names another host (kafka.tls.servername), or the broker refused this client (kafka.tls.certFile). The message names the broker and the cause.',
  },
  KAFKA_NOT_AUTHORIZED: {
    retriable: false,
    http: 500,
    doc: "The Kafka cluster's authorizer refused the principal access to a topic, consumer group or transactional id: an ACL is missing. `cdc grants --kafka <principal>` prints those the pipeline needs.",
  },
  KAFKA_AUTH_FAILED: {
    retriable: false,
    http: 500,
    doc: 'A broker refused the SASL credentials of kafka.sasl (user, password or mechanism). The message names the broker, the user and the mechanism, never the password.',
  },
  KAFKA_FENCED: {
    retriable: false,
    http: 409,
    doc: 'Another instance took over this connector (transactional producer fenced).',
  },
  CAPTURE_STATE_TOO_LARGE: {
    retriable: false,
    http: 500,
    doc: 'The published position plus connector state exceed what Kafka keeps as offset metadata (offset.metadata.max.bytes, 4096 by default).',
  },
  EVENT_TOO_LARGE: {
    retriable: false,
    http: 500,
    doc: 'A change event is larger than kafka.maxEventBytes; the message names its table, key, position and size. Raise kafka.maxEventBytes, or set kafka.oversizedEvents to sideTopic to divert such events and keep capturing.',
  },
  APPLY_FAILED: {
    retriable: false,
    http: 500,
    doc: 'An event could not be applied to the target; it goes to the dead-letter topic.',
  },
  APPLY_STALE_WORKER: {
    retriable: false,
    http: 409,
    doc: 'The replica holds an applied position ahead of what this apply worker last wrote or read: another worker applied the stream meanwhile (a zombie after a rebalance, or two workers on one stream). This one stops without applying; a restart resumes from the stored position.',
  },
  DLQ_REPLAY_BUSY: {
    retriable: false,
    http: 409,
    doc: "Another replay of the replica's dead letters is running (its replay consumer group has a member); wait for it to end, or follow it with GET /dlq/replay in the process running it.",
  },
  DATABASE_TLS_FAILED: {
    retriable: false,
    http: 500,
    doc: "A TLS connection to a database failed: its certificate is not trusted (the URL's `sslrootcert` or `ssl-ca`), names another host, the server takes no TLS, or it refused a user that must use TLS a plain connection (set `sslmode` or `ssl-mode`). The message names the server and the cause; not retried.",
  },
  DATABASE_AUTH_FAILED: {
    retriable: false,
    http: 500,
    doc: 'A MariaDB/MySQL server refused the user of the URL (wrong password, unknown user, or a user created with REQUIRE SSL reaching it without TLS). The message names the server and the user, never the password; not retried.',
  },
  TARGET_UNREACHABLE: {
    retriable: true,
    http: 503,
    doc: 'The target database could not be reached; retried with backoff.',
  },
  TARGET_PRIVILEGE: {
    retriable: false,
    http: 500,
    doc: "The replica's user lacks a privilege the apply worker needs (creating its tables or `cdc_apply`, marking origins); the worker stops, applying nothing and dead-lettering nothing, and the message names the privilege and the GRANT that gives it (`cdc grants` prints them all).",
  },
  NOT_FOUND: {
    retriable: false,
    http: 404,
    doc: 'The API resource (pipeline, connector, worker) does not exist.',
  },
  STOPPED: {
    retriable: false,
    http: 503,
    doc: 'The component was stopped (shutdown or abort signal) before the work completed.',
  },
  TIMED_OUT: {
    retriable: false,
    http: 504,
    doc: 'A wait with a time limit (`cdc snapshot --timeout`) ran out before the work was done; the work itself goes on.',
  },
  WAIT_TIMED_OUT: {
    retriable: true,
    http: 408,
    doc: 'A read-your-writes wait (`GET /replicas/:name/wait`) ran out before the replica had applied everything up to the position; the message says whether the capture or the replica is behind, and its state.',
  },
  REQUEST_INVALID: {
    retriable: false,
    http: 400,
    doc: 'An API request failed validation (body, query or parameters); the message names the field.',
  },
  OPERATION_UNSUPPORTED: {
    retriable: false,
    http: 501,
    doc: 'The component does not support the requested operation (for example an external schema registry, or verify in a process without database access); the message names it.',
  },
  API_REQUEST_FAILED: {
    retriable: true,
    http: 502,
    doc: 'The CLI could not reach the control API, or the API refused the request; the message says which.',
  },
  API_UNAUTHORIZED: {
    retriable: false,
    http: 401,
    doc: 'The control API needs a bearer token (`api.tokens`) and the request carried none, or one it does not know.',
  },
  API_FORBIDDEN: {
    retriable: false,
    http: 403,
    doc: "The request's token has the `read` scope and the route changes or starts work, which needs `admin`.",
  },
  API_BUSY: {
    retriable: true,
    http: 429,
    doc: 'The API already runs as much of this kind of work as it allows (verify runs); try again when one has ended.',
  },
  VERIFY_TABLE_INVALID: {
    retriable: false,
    http: 422,
    doc: 'A table cannot be verified: missing on the source or the replica, no primary key, a key column missing on the replica, or key types that order differently; the message names the table and column.',
  },
  MIGRATION_INVALID: {
    retriable: false,
    http: 400,
    doc: 'The configuration does not describe a MariaDB → PostgreSQL migration (a MariaDB source, a PostgreSQL replica of it with origins on); the message names what is missing.',
  },
  MIGRATION_STATE: {
    retriable: false,
    http: 409,
    doc: 'A migration step was asked for out of order (reverse replication before the cutover, a second cutover); the message names the step that must come first.',
  },
  CUTOVER_FAILED: {
    retriable: false,
    http: 409,
    doc: 'The cutover did not complete: the replica did not reach the fenced source position in time, or the final verify found differences; the message says which and whether the write fence was released.',
  },
  INTERNAL: { retriable: false, http: 500, doc: 'An invariant was broken: a bug. The message says which.' },
} as const satisfies Record<string, { retriable: boolean; http: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
