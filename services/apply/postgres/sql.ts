/**
 * SQL text helpers for the PostgreSQL sink: identifiers are always quoted, literals always escaped, and
 * type names taken from a source catalog are split into their schema and name parts.
 */
import pg from 'pg';

export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}

export function literal(value: string): string {
  return pg.escapeLiteral(value);
}

export interface TargetTable {
  readonly schema: string;
  readonly table: string;
}

export function qualified(target: TargetTable): string {
  return `${ident(target.schema)}.${ident(target.table)}`;
}

/**
 * Splits a type name as PostgreSQL's format_type prints it (`public.mood`, `"My Schema"."Mood"`, `mood`) into
 * its parts, unquoting quoted ones. Returns null for anything else (type modifiers, array brackets).
 */
export function splitTypeName(text: string): { schema: string | null; name: string } | null {
  const part = String.raw`(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))`;
  const match = new RegExp(`^(?:${part}\\.)?${part}$`).exec(text.trim());
  if (!match) return null;
  const unquote = (quoted: string | undefined, bare: string | undefined): string | null =>
    quoted !== undefined ? quoted.replace(/""/g, '"') : bare !== undefined ? bare.toLowerCase() : null;
  const name = unquote(match[3], match[4]);
  return name === null ? null : { schema: unquote(match[1], match[2]), name };
}

/** Formats microseconds since the Unix epoch as an exact ISO timestamp with microseconds, in UTC. */
export function microsToTimestamp(micros: bigint): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = micros - millis * 1000n;
  const iso = new Date(Number(millis)).toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, -1)}${rest.toString().padStart(3, '0')}Z`;
}
