/**
 * Avro's Parsing Canonical Form (specification, "Parsing Canonical Form for Schemas"): the schema reduced to
 * what matters for reading data, with fixed attribute order and no whitespace. Fingerprints are computed over it.
 *
 * Implemented here from the specification's transformation rules (PRIMITIVES, FULLNAMES, STRIP, ORDER, STRINGS,
 * INTEGERS, WHITESPACE) rather than relying on avsc's own `schema()` rendering, whose exact shape is not a
 * documented contract.
 */
import { CdcError } from '../../common/errors.ts';

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

export function parsingCanonicalForm(schema: unknown): string {
  return canonical(schema, '', new Set());
}

function canonical(schema: unknown, namespace: string, defined: Set<string>): string {
  if (typeof schema === 'string') {
    if (PRIMITIVES.has(schema)) return JSON.stringify(schema);
    return JSON.stringify(fullName(schema, namespace));
  }
  if (Array.isArray(schema)) {
    return `[${schema.map((branch) => canonical(branch, namespace, defined)).join(',')}]`;
  }
  if (typeof schema !== 'object' || schema === null) {
    throw new CdcError('SCHEMA_INCOMPATIBLE', `not an Avro schema: ${JSON.stringify(schema)}`);
  }
  const node = schema as Record<string, unknown>;
  const type = node.type;
  if (typeof type !== 'string') return canonical(type, namespace, defined);
  if (PRIMITIVES.has(type)) return JSON.stringify(type);
  if (NAMED.has(type)) {
    if (typeof node.name !== 'string')
      throw new CdcError('SCHEMA_INCOMPATIBLE', `Avro ${type} without a name`);
    const ownNamespace = typeof node.namespace === 'string' ? node.namespace : namespace;
    const name = fullName(node.name, ownNamespace);
    if (defined.has(name)) return JSON.stringify(name);
    defined.add(name);
    // Names inside a named type resolve against the namespace of that type's full name.
    const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '';
    const head = `{"name":${JSON.stringify(name)},"type":${JSON.stringify(type)}`;
    if (type === 'enum') return `${head},"symbols":${JSON.stringify(node.symbols)}}`;
    if (type === 'fixed') return `${head},"size":${String(Number(node.size))}}`;
    const fields = Array.isArray(node.fields) ? (node.fields as Record<string, unknown>[]) : [];
    const rendered = fields.map(
      (field) => `{"name":${JSON.stringify(field.name)},"type":${canonical(field.type, inner, defined)}}`,
    );
    return `${head},"fields":[${rendered.join(',')}]}`;
  }
  if (type === 'array') return `{"type":"array","items":${canonical(node.items, namespace, defined)}}`;
  if (type === 'map') return `{"type":"map","values":${canonical(node.values, namespace, defined)}}`;
  // A reference to a named type written as {"type": "Name"}.
  return JSON.stringify(fullName(type, namespace));
}

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}
