/**
 * How subscriber-topic records become bytes (`subscriberTopics.format`): Kafka Connect's JsonConverter text
 * (`debezium-json`), or AvroConverter's Confluent wire format with the schemas in the registry
 * (`debezium-avro`: byte 0, the 4-byte schema id, the Avro body). Subjects follow Confluent's default
 * TopicNameStrategy (`<topic>-key`, `<topic>-value`) whatever `kafka.schemaRegistry.subjectNameStrategy` says
 * for the changelog: a per-table topic holds one table, and ksqlDB or Flink's `avro-confluent` find a topic's
 * schema under exactly those subjects.
 */
import { avroDatum, avroTypeOf } from '../../schemas/debezium/avro-form.ts';
import { jsonText, type ConnectSchema, type RecordPart } from '../../schemas/debezium/connect-schema.ts';
import type { DebeziumRecord } from '../../schemas/debezium/envelope.ts';
import { CdcError } from '../../common/errors.ts';
import type { RegistrySchemas } from './schema-registry/registry-schemas.ts';
import type { SchemaStore } from './schema-store.ts';
import type { SubscriberTopicsOptions } from './subscriber-topics.ts';

export interface SubscriberEncoding {
  /** Makes every schema of these records writable (registers the new ones); call before `encode`. */
  prepare(records: readonly DebeziumRecord[], signal: AbortSignal): Promise<void>;
  encode(part: RecordPart, topic: string, isKey: boolean): Buffer;
}

/** The encoding `subscriberTopics.format` names; Avro needs `kafka.schemaRegistry` (checked at validation). */
export function subscriberEncoding(
  options: SubscriberTopicsOptions,
  schemas: SchemaStore,
): SubscriberEncoding {
  if (options.format === 'debezium-json') return jsonEncoding(options.schemas);
  if (schemas.registry === null)
    throw new CdcError(
      'CONFIG_INVALID',
      'subscriberTopics.format "debezium-avro" needs kafka.schemaRegistry: the Avro schemas live in a registry',
    );
  return new AvroEncoding(schemas.registry);
}

export function jsonEncoding(schemas: boolean): SubscriberEncoding {
  return {
    prepare: () => Promise.resolve(),
    encode: (part) => Buffer.from(jsonText(part, schemas), 'utf8'),
  };
}

export class AvroEncoding implements SubscriberEncoding {
  private readonly registry: RegistrySchemas;
  /** Registry id of each schema, by topic and key/value (`<topic>|key`). */
  private readonly ids = new WeakMap<ConnectSchema, Map<string, number>>();

  constructor(registry: RegistrySchemas) {
    this.registry = registry;
  }

  async prepare(records: readonly DebeziumRecord[], signal: AbortSignal): Promise<void> {
    for (const record of records) {
      if (record.key !== null) await this.register(record.key.schema, record.topic, true, signal);
      if (record.value !== null) await this.register(record.value.schema, record.topic, false, signal);
    }
  }

  encode(part: RecordPart, topic: string, isKey: boolean): Buffer {
    const id = this.ids.get(part.schema)?.get(use(topic, isKey));
    if (id === undefined)
      throw new CdcError('INTERNAL', `a subscriber-topic schema of ${topic} used before it was registered`, {
        topic,
      });
    const body = avroTypeOf(part.schema).type.toBuffer(avroDatum(part.schema, part.payload));
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0; // Confluent's magic byte, then the schema id
    out.writeUInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  }

  private async register(schema: ConnectSchema, topic: string, isKey: boolean, signal: AbortSignal) {
    let byUse = this.ids.get(schema);
    if (byUse?.has(use(topic, isKey))) return;
    const { text } = avroTypeOf(schema);
    const subject = `${topic}-${isKey ? 'key' : 'value'}`;
    const id = await this.registry.registerText(subject, text, signal, () =>
      Promise.resolve(`the Debezium ${isKey ? 'key' : 'value'} of topic ${topic}`),
    );
    if (!byUse) this.ids.set(schema, (byUse = new Map<string, number>()));
    byUse.set(use(topic, isKey), id);
  }
}

function use(topic: string, isKey: boolean): string {
  return `${topic}|${isKey ? 'key' : 'value'}`;
}
