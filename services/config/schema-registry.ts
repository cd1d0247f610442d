/**
 * `kafka.schemaRegistry`: a Confluent-compatible schema registry (Confluent Schema Registry, Apicurio's ccompat
 * API, Karapace, Redpanda). When set, changelog keys and values are written in the Confluent wire format (byte
 * 0, the 4-byte schema id, the Avro body) with their schemas registered there, instead of single-object
 * encoding with the embedded `<topicPrefix>._schemas` topic. Readers decode both, so a changelog written before
 * the switch stays readable.
 */
import { z } from 'zod';
import { urlField } from './url.ts';

export const SUBJECT_NAME_STRATEGIES = ['topic-record', 'record', 'topic'] as const;

export const schemaRegistrySchema = z.strictObject({
  url: urlField({
    schemes: ['http', 'https'],
    example: 'http://registry:8081',
    problems: (parsed) =>
      parsed.search !== '' || parsed.hash !== '' ? ['must not carry a query or a fragment'] : [],
  }).meta({
    description:
      "Base URL of the registry's Confluent-compatible API (Apicurio: `http://host:8080/apis/ccompat/v7`). Credentials in the URL work like `auth` and are never logged.",
  }),
  auth: z
    .strictObject({
      username: z.string().min(1, { error: 'must not be empty' }).meta({ description: 'User name.' }),
      password: z.string().min(1, { error: 'must not be empty' }).meta({
        description:
          'Password (or API secret); write `${ENV_VAR}` or `${file:/path}` rather than the password itself. Never logged.',
      }),
    })
    .optional()
    .meta({ description: 'HTTP basic authentication against the registry.' }),
  subjectNameStrategy: z.enum(SUBJECT_NAME_STRATEGIES).default('topic-record').meta({
    description:
      "Subject a schema is registered under: `topic-record` (`<topic>-<record full name>`, the default: the changelog holds every table of a source, and each table's schema evolves under its own subject), `record` (the record full name alone), `topic` (`<topic>-key` / `<topic>-value`: every table's schema in one subject, so a compatibility check compares different tables; only for a registry whose compatibility is NONE).",
  }),
  onIncompatible: z.enum(['stop', 'new-version']).default('stop').meta({
    description:
      "A table change the subject's compatibility refuses (a type change such as text to integer): `stop` capture with an error naming the subject, table and column; or `new-version`: set that subject's compatibility to NONE, register the schema, and log it.",
  }),
  requestTimeoutMs: z
    .int({ error: 'must be a whole number of milliseconds' })
    .min(100, { error: 'must be at least 100' })
    .default(10_000)
    .meta({ description: 'How long one registry request may take.' }),
  retryTimeoutMs: z
    .int({ error: 'must be a whole number of milliseconds' })
    .min(0, { error: 'must not be negative' })
    .default(60_000)
    .meta({
      description:
        'How long a registration or lookup is retried while the registry is unreachable or answers 5xx, before capture or apply stops with REGISTRY_FAILED naming the subject and the last answer.',
    }),
});

export type SchemaRegistryConfig = z.output<typeof schemaRegistrySchema>;
