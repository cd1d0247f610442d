/**
 * Avro names (`[A-Za-z_][A-Za-z0-9_]*`) from database identifiers, which may hold spaces, capitals, quotes,
 * dots or any unicode. The original identifier always travels next to the Avro name in a schema property, so
 * the mapping only needs to be valid and deterministic, not reversible.
 */
const INVALID = /[^A-Za-z0-9_]/g;

export function avroName(identifier: string): string {
  const replaced = identifier.replace(INVALID, '_');
  if (replaced === '') return '_';
  // avsc compiles record classes that assign fields as properties: `__proto__` would replace the prototype.
  if (replaced === '__proto__') return '_proto_';
  return /^[0-9]/.test(replaced) ? `_${replaced}` : replaced;
}

/**
 * Avro names for a list of identifiers (the columns of one record), unique within the list: a later identifier
 * that maps to a name already taken gets a numeric suffix, so `a b` and `a_b` become `a_b` and `a_b_2`.
 */
export function uniqueAvroNames(identifiers: readonly string[]): string[] {
  const taken = new Set<string>();
  return identifiers.map((identifier) => {
    const base = avroName(identifier);
    let name = base;
    for (let suffix = 2; taken.has(name); suffix++) name = `${base}_${suffix}`;
    taken.add(name);
    return name;
  });
}

/** A dotted Avro namespace from identifiers, each sanitized on its own. */
export function avroNamespace(parts: readonly string[]): string {
  return parts.map(avroName).join('.');
}
