/**
 * The configuration reference as Markdown, generated from the schema so the documentation cannot drift from
 * what is validated. `node services/config/reference.ts` (or `cdc config-reference`) prints it.
 */
import { z } from 'zod';
import { pipelineConfigSchema } from './schema.ts';

interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly description?: string;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
}

interface Row {
  readonly field: string;
  readonly type: string;
  readonly required: boolean;
  readonly defaultValue: string;
  readonly description: string;
}

export function configReference(): string {
  const root = z.toJSONSchema(pipelineConfigSchema, { io: 'input' }) as JsonSchema;
  const rows: Row[] = [];
  walkObject(root, '', rows);
  const lines = [
    '| Field | Type | Required | Default | Description |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.field}\` | ${r.type} | ${r.required ? 'yes' : ''} | ${r.defaultValue} | ${escapeCell(r.description)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function walkObject(schema: JsonSchema, prefix: string, rows: Row[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const field = prefix === '' ? key : `${prefix}.${key}`;
    rows.push({
      field,
      type: describeType(child),
      required: required.has(key) && child.default === undefined,
      defaultValue: child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``,
      description: child.description ?? '',
    });
    walkChildren(child, field, rows);
  }
}

function walkChildren(schema: JsonSchema, field: string, rows: Row[]): void {
  if (schema.properties) walkObject(schema, field, rows);
  // A mapping keyed by names of the user's (tables, columns): its values' fields, where they are documented.
  const values = schema.additionalProperties;
  if (typeof values === 'object' && Object.values(values.properties ?? {}).some((p) => p.description))
    walkObject(values, `${field}.<key>`, rows);
  const items = schema.items;
  if (items?.properties) walkObject(items, `${field}[]`, rows);
  for (const variant of items?.oneOf ?? items?.anyOf ?? []) {
    const kind = variant.properties?.kind;
    const label = kind === undefined ? '' : ` (kind ${kindValues(kind).join('/')})`;
    walkObject(variant, `${field}[]${label}`, rows);
  }
}

function kindValues(schema: JsonSchema): string[] {
  if (schema.const !== undefined) return [JSON.stringify(schema.const).replaceAll('"', '')];
  return (schema.enum ?? []).map(String);
}

function describeType(schema: JsonSchema): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (schema.oneOf || schema.anyOf) return 'one of the kinds below';
  const type = Array.isArray(schema.type) ? schema.type.join(' \\| ') : (schema.type ?? 'any');
  if (type === 'array') return `list of ${schema.items ? describeType(schema.items) : 'any'}`;
  if (type === 'integer') {
    const low = schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : schema.minimum;
    const high =
      schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? schema.maximum : undefined;
    if (low !== undefined && high !== undefined) return `integer ${low}..${high}`;
    if (low !== undefined) return `integer ≥ ${low}`;
  }
  return String(type);
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

if (import.meta.main) process.stdout.write(configReference());
