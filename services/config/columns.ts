/**
 * The `columns` section of a source: which columns of which tables leave the source at all, and how the values
 * of the others are masked on the way out (services/pipeline/column-filter.ts applies it at capture). What
 * depends on the table itself (its key, a column's type) is known only once capture reads the table's
 * description, and is checked there, before anything of the table is published.
 */
import { z } from 'zod';
import { matchesAny, type QualifiedName } from '../../schemas/events/table-names.ts';

/** `schema.table`, where either part may be `*` or end with `*` (a prefix match), as in `tables`. */
const TABLE_PATTERN = /^[^.\s]+\.[^.\s]+$/;
/** A secret shorter than this is guessable, and with it every hashed value can be recomputed from guesses. */
export const MIN_HASH_SECRET_LENGTH = 16;
/** What `redact` alone writes: eight asterisks, whatever the value was, so not even its length shows. */
export const DEFAULT_REDACT_CHARS = 8;
const MAX_REDACT_CHARS = 255;

const columnName = z.string().min(1);
const chars = (what: string) =>
  z
    .int({ error: `must be a whole number of characters ${what}` })
    .min(1, { error: `must be at least 1 (characters ${what})` });

const maskSchema = z.union(
  [
    z.literal('redact').meta({ description: `Replaces the value with ${DEFAULT_REDACT_CHARS} asterisks.` }),
    z.strictObject({
      redact: chars('of asterisks').max(MAX_REDACT_CHARS, {
        error: `must be at most ${MAX_REDACT_CHARS}`,
      }),
    }),
    z.strictObject({
      hash: z.strictObject({
        secret: z.string().min(MIN_HASH_SECRET_LENGTH, {
          error: `must be at least ${MIN_HASH_SECRET_LENGTH} characters: with a short secret the hashes of guessable values (phone numbers, e-mail addresses) can be recomputed`,
        }),
      }),
    }),
    z.strictObject({ truncate: chars('to keep') }),
  ],
  {
    error:
      'must be `redact`, `{ redact: <characters> }`, `{ hash: { secret: <text> } }` or `{ truncate: <characters> }`',
  },
);

const tableColumns = z
  .strictObject({
    include: z.array(columnName).min(1).optional().meta({
      description:
        'Only these columns leave the source (the key columns must be among them); every other column is left out as `exclude` would.',
    }),
    exclude: z.array(columnName).min(1).optional().meta({
      description:
        'Columns that never leave the source: absent from the events and from the Avro schema, so replicas do not have them.',
    }),
    mask: z.record(columnName, maskSchema).optional().meta({
      description:
        '`<column>: <mask>`: `redact` (8 asterisks) or `{ redact: n }` (n asterisks); `{ hash: { secret } }` (HMAC-SHA-256 of the value with the secret, 64 hex characters); `{ truncate: n }` (the first n characters, text columns only). NULL stays NULL.',
    }),
  })
  .superRefine((entry, ctx) => {
    if (entry.include !== undefined && entry.exclude !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['exclude'],
        message: 'cannot be combined with include in one table: list the columns to keep, or those to drop',
      });
  });

export const columnsSchema = z
  .record(
    z.string().regex(TABLE_PATTERN, {
      error: 'must be "schema.table" (`*` allowed), like "public.users" or "public.*"',
    }),
    tableColumns,
  )
  .optional()
  .meta({
    description:
      'Column filters and masks by table pattern (`<key>`: `schema.table`, `*` allowed, as in `tables`), applied at capture so a left-out or masked value never reaches Kafka, snapshot and stream alike. Key columns cannot be left out or masked (see Column filters and masking).',
  });

export type ColumnsConfig = NonNullable<z.output<typeof columnsSchema>>;
export type TableColumnsConfig = ColumnsConfig[string];
export type MaskConfig = NonNullable<TableColumnsConfig['mask']>[string];

/**
 * The columns of `table` its rules leave out or mask, by name alone: what a comparison of source and replica
 * must pass over, since the replica lacks them or holds their masks.
 */
export function ruledColumns(
  config: ColumnsConfig | undefined,
  table: QualifiedName,
  columns: readonly string[],
): Set<string> {
  const ruled = new Set<string>();
  for (const [pattern, entry] of Object.entries(config ?? {})) {
    if (!matchesAny([pattern], table)) continue;
    for (const column of columns) {
      const dropped = entry.exclude?.includes(column) === true || entry.include?.includes(column) === false;
      if (dropped || (entry.mask !== undefined && Object.hasOwn(entry.mask, column))) ruled.add(column);
    }
  }
  return ruled;
}
