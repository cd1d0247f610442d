/**
 * Which row of the applied-position table holds a stream's position. The table is one per target database
 * (PostgreSQL's `cdc_apply` schema) or per server (MariaDB's `cdc_apply` database), so two replicas of one
 * stream can share it: two MariaDB databases on one server, two `targetSchema`s in one PostgreSQL database.
 * Keyed by stream alone, each would read the other's position and skip changes it never applied. A sink that
 * puts every table into one namespace (its scope) therefore keys its row `<stream>@<scope>`; one that keeps the
 * source's own schema names writes into the same tables as any other such replica of the stream, so it is the
 * same replica and keeps the bare `<stream>` row. Stream names never hold `@` (config/schema.ts NAME_PATTERN).
 */

/** The rows to read, first found wins: the scoped row, then the bare row written before scopes existed. */
export function positionRows(stream: string, scope: string | undefined): readonly string[] {
  return scope === undefined || scope === '' ? [stream] : [`${stream}@${scope}`, stream];
}

/** The row a sink writes. */
export function positionRow(stream: string, scope: string | undefined): string {
  return positionRows(stream, scope)[0]!;
}
