/**
 * The pipeline file's JSON Schema, for editors and other tools: generated from the schema `cdc validate` and
 * `cdc run` check a file against, so the two cannot disagree. `npm run docs` writes it to
 * schemas/config/pipeline.schema.json; a unit test fails when that file is out of date.
 *
 * It describes the file as written, before `${NAME}` references are expanded (services/config/env.ts): a value
 * may be a reference wherever a scalar goes, since the reference's text takes the type it reads as. What it
 * cannot say (a replica naming a source that exists, the rules of a topology) only `cdc validate` checks.
 */
import { z } from 'zod';
import { pipelineConfigSchema } from './schema.ts';

/** A string holding at least one `${NAME}` or `${NAME:-default}` reference. */
const REFERENCE_ALTERNATIVE = {
  type: 'string',
  pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
  description: 'An environment reference, checked against the field once expanded.',
} as const;

type JsonSchema = Record<string, unknown>;

export function pipelineJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(pipelineConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return {
    $schema: generated.$schema,
    title: 'cdc pipeline configuration',
    ...(allowReferences(generated) as JsonSchema),
  };
}

/** Every scalar schema in `node` also accepts a string with an environment reference in it. */
function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (node === null || typeof node !== 'object') return node;
  const schema = node as JsonSchema;
  if (isScalar(schema)) {
    const { description, default: fallback, ...rest } = schema;
    return {
      ...(description === undefined ? {} : { description }),
      ...(fallback === undefined ? {} : { default: fallback }),
      anyOf: [rest, REFERENCE_ALTERNATIVE],
    };
  }
  const result: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    // Property names and pattern keys are names, not schemas; their values are.
    result[key] =
      key === 'properties' || key === '$defs' || key === 'patternProperties'
        ? Object.fromEntries(Object.entries(value as JsonSchema).map(([k, v]) => [k, allowReferences(v)]))
        : allowReferences(value);
  }
  return result;
}

/**
 * A schema of one value that is not an object or array (a type, an enum or a constant), other than a string
 * any text passes, which takes a reference as it is.
 */
function isScalar(schema: JsonSchema): boolean {
  const type = schema.type;
  const annotations = new Set(['type', 'description', 'default', 'title', 'examples']);
  if (type === 'string' && Object.keys(schema).every((key) => annotations.has(key))) return false;
  const types = Array.isArray(type) ? (type as unknown[]) : type === undefined ? [] : [type];
  if (types.includes('object') || types.includes('array')) return false;
  if (types.length > 0) return true;
  return 'enum' in schema || 'const' in schema;
}
