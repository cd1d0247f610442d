/**
 * Writer schemas kept in a Confluent-compatible registry (`kafka.schemaRegistry`): registration for the
 * publisher (subject by strategy, ids cached, retries, `onIncompatible`) and lookup by id for every reader.
 */
import { registryForm, toWireFormat } from '../../../schemas/avro/registry-form.ts';
import { writerSchemaFromJson, type WriterSchema } from '../../../schemas/avro/writer-schema.ts';
import { REGISTRY_ID_PREFIX } from '../../../schemas/avro/codec.ts';
import { tableFromValueSchema } from '../../../schemas/avro/table-avro.ts';
import { CdcError, errorMessage } from '../../../common/errors.ts';
import { withRetries } from '../../../common/retry.ts';
import type { Logger } from '../../../common/logger.ts';
import type { SchemaRegistryConfig } from '../../config/schema-registry.ts';
import { RegistryClient } from './registry-client.ts';

/** The subject a schema goes under, by `subjectNameStrategy`. */
export function subjectOf(
  strategy: SchemaRegistryConfig['subjectNameStrategy'],
  topic: string,
  recordName: string,
  isKey: boolean,
): string {
  switch (strategy) {
    case 'topic':
      return `${topic}-${isKey ? 'key' : 'value'}`;
    case 'record':
      return recordName;
    case 'topic-record':
      return `${topic}-${recordName}`;
  }
}

export class RegistrySchemas {
  readonly client: RegistryClient;
  private readonly config: SchemaRegistryConfig;
  private readonly logger: Logger;
  /** Registry id of each writer schema registered by us (by the writer schema's own id). */
  private readonly ids = new Map<string, number>();
  /** Writer schemas read back by registry id. */
  private readonly byId = new Map<number, WriterSchema>();

  constructor(config: SchemaRegistryConfig, logger: Logger) {
    this.config = config;
    this.logger = logger.child({ component: 'schema-registry' });
    this.client = new RegistryClient(config);
  }

  isRegistered(schema: WriterSchema): boolean {
    return this.ids.has(schema.id);
  }

  /** Registers a writer schema (key or value schema of a table) for `topic`, unless already done. */
  async register(schema: WriterSchema, topic: string, isKey: boolean, signal: AbortSignal): Promise<number> {
    const known = this.ids.get(schema.id);
    if (known !== undefined) return known;
    const form = registryForm(schema.json);
    const subject = subjectOf(this.config.subjectNameStrategy, topic, form.recordName, isKey);
    const id = await this.registerText(subject, form.text, signal, async () => {
      const columns = await this.changedColumns(subject, form.text, signal);
      return `table ${tableName(schema)}${columns === '' ? '' : `, column(s) ${columns}`}`;
    });
    this.ids.set(schema.id, id);
    return id;
  }

  /**
   * Registers an Avro schema text under a subject (idempotent at the registry) and answers its id: retried
   * while the registry is unreachable; a refusal by the subject's compatibility handled by `onIncompatible`,
   * the error naming `what` (a table and its changed columns) as `describe` says.
   */
  async registerText(
    subject: string,
    text: string,
    signal: AbortSignal,
    describe: () => Promise<string>,
  ): Promise<number> {
    let answer = await this.retried(`registering under subject ${subject}`, signal, () =>
      this.client.register(subject, text),
    );
    if (typeof answer === 'number') return answer;
    const what = await describe();
    if (this.config.onIncompatible === 'stop')
      throw new CdcError(
        'REGISTRY_INCOMPATIBLE',
        `schema registry ${this.client.url} refuses the new schema of ${what} under subject ${subject}: ${answer.incompatible}; set kafka.schemaRegistry.onIncompatible: new-version to register it anyway`,
        { subject, registry: this.client.url },
      );
    this.logger.warn(
      { subject, reason: answer.incompatible },
      `schema of ${what} is incompatible with subject ${subject}: compatibility of ${subject} set to NONE and the schema registered (onIncompatible: new-version)`,
    );
    await this.retried(`setting the compatibility of ${subject}`, signal, () =>
      this.client.setCompatibility(subject, 'NONE'),
    );
    answer = await this.retried(`registering under subject ${subject}`, signal, () =>
      this.client.register(subject, text),
    );
    if (typeof answer !== 'number')
      throw new CdcError(
        'REGISTRY_FAILED',
        `schema registry ${this.client.url} still refuses the schema of ${what} under ${subject} with compatibility NONE: ${answer.incompatible}`,
        { subject },
      );
    return answer;
  }

  /** A single-object message in the Confluent wire format, with the id its schema was registered under. */
  frame(message: Buffer, schema: WriterSchema): Buffer {
    const id = this.ids.get(schema.id);
    if (id === undefined)
      throw new CdcError('INTERNAL', `schema ${schema.id} used before it was registered`, {
        schemaId: schema.id,
      });
    return toWireFormat(id, message, 10);
  }

  /** A schema read back by id already in memory (`registry:<id>`); synchronous, for decoding. */
  cached(id: string): WriterSchema | undefined {
    return this.byId.get(registryNumber(id));
  }

  /** Reads a schema from the registry by id (`registry:<id>`); undefined when the registry has none. */
  async lookup(
    id: string,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<WriterSchema | undefined> {
    const number = registryNumber(id);
    const known = this.byId.get(number);
    if (known) return known;
    const text = await this.retried(`reading schema id ${number}`, signal, () =>
      this.client.schemaText(number),
    );
    if (text === null) return undefined;
    const schema = writerSchemaFromJson(text);
    this.byId.set(number, schema);
    return schema;
  }

  /** Registry requests are retried under the service's retry policy for up to `retryTimeoutMs`. */
  private async retried<T>(what: string, signal: AbortSignal, operation: () => Promise<T>): Promise<T> {
    const limit = AbortSignal.any([signal, AbortSignal.timeout(this.config.retryTimeoutMs)]);
    let last: unknown = null;
    try {
      return await withRetries(what, operation, {
        signal: limit,
        logger: this.logger,
        backoff: { initialMs: 200, maxMs: 5_000 },
        onRetry: (error) => (last = error),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof CdcError && error.code === 'STOPPED')
        throw new CdcError(
          'REGISTRY_FAILED',
          `${what} at schema registry ${this.client.url} still failing after ${this.config.retryTimeoutMs} ms: ${errorMessage(last ?? error)}`,
          { registry: this.client.url },
          { cause: error },
        );
      throw error;
    }
  }

  /** The columns whose type differs from the subject's latest version, to name them in the error. */
  private async changedColumns(subject: string, text: string, signal: AbortSignal): Promise<string> {
    try {
      const latest = await this.retried(`reading ${subject}`, signal, () => this.client.latest(subject));
      if (latest === null) return '';
      const before = tableFromValueSchema(JSON.parse(latest)).table.columns;
      const after = tableFromValueSchema(JSON.parse(text)).table.columns;
      return after
        .filter((column) => {
          const old = before.find((candidate) => candidate.name === column.name);
          return old !== undefined && JSON.stringify(old.type) !== JSON.stringify(column.type);
        })
        .map(
          (column) =>
            `${column.name} (${before.find((c) => c.name === column.name)?.sourceType} → ${column.sourceType})`,
        )
        .join(', ');
    } catch {
      return ''; // a key schema, or another table under the `topic` strategy: the registry's reason says it
    }
  }
}

function registryNumber(id: string): number {
  return Number(id.slice(REGISTRY_ID_PREFIX.length));
}

function tableName(schema: WriterSchema): string {
  const parsed = JSON.parse(schema.json) as Record<string, unknown>;
  return `${String(parsed['cdc.schema'])}.${String(parsed['cdc.table'])}`;
}
