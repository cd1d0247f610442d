/**
 * Every conflict-checked write locks its key before it reads the row and the key's tombstone. Without it two
 * sessions writing one node (two links of a mesh, or a link and a local application) can each decide from a
 * state the other is about to change: a change that waited for another link's delete of its row read no
 * tombstone (its snapshot predated the wait) and brought the row back; a remote delete of a missing key and a
 * remote insert of it from another link, in two sessions, left both the row and a newer tombstone.
 *
 * Key locks are held to the end of the target transaction, and the server's lock table is bounded: a
 * transaction writing more than `KEY_LOCKS_PER_TABLE` keys of one table locks the whole table instead.
 */
import type { Row } from '../../../schemas/events/change-event.ts';
import type { TableShape, TargetConnection } from '../sql-dialect.ts';
import type { ConflictDialect } from './conflict-dialect.ts';

export const KEY_LOCKS_PER_TABLE = 256;

export class KeyLocks<C extends TargetConnection> {
  private readonly dialect: ConflictDialect<C>;
  private readonly limit: number;
  /** Keys locked per table in the open target transaction (an overestimate after a savepoint rollback). */
  private readonly taken = new Map<string, number>();

  constructor(dialect: ConflictDialect<C>, limit = KEY_LOCKS_PER_TABLE) {
    this.dialect = dialect;
    this.limit = limit;
  }

  /** Locks `keys` of `table`, and with `lockRows` their rows, before the statement that reads them. */
  async take(
    connection: C,
    shape: TableShape,
    table: string,
    keys: readonly Row[],
    lockRows: boolean,
  ): Promise<void> {
    const count = (this.taken.get(table) ?? 0) + keys.length;
    this.taken.set(table, count);
    // The table's lock is taken again on every call rather than remembered: a savepoint rolled back releases it.
    const scope = count > this.limit ? 'table' : 'keys';
    await this.dialect.lockKeys(connection, shape, table, keys, scope, lockRows);
  }

  /** The target transaction ended: its locks are gone. */
  reset(): void {
    this.taken.clear();
  }
}
