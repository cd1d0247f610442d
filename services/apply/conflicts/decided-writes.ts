/**
 * Carrying out what the conflict writer decided: a write under a savepoint (a unique-key violation is rolled
 * back, recorded and dead-lettered), an insert of a row known missing, a change sent to the dead letters, and
 * the record of each conflict in `cdc_apply.conflicts`, written in the same target transaction.
 */
import type { ChangeEvent, InsertEvent, Row, UpdateEvent } from '../../../schemas/events/change-event.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { CdcError } from '../../../common/errors.ts';
import type { Statement, StatementSyntax, TargetConnection } from '../sql-dialect.ts';
import { insertRows } from '../statements.ts';
import { microsToTimestamp } from '../postgres/sql.ts';
import type { ConflictDialect } from './conflict-dialect.ts';
import { recordConflict } from './conflict-log.ts';
import type { ConflictCounts } from './conflict-counts.ts';
import type { Check } from './check.ts';
import type { ConflictKind, ConflictOutcome, Version } from './types.ts';
import { rowJson } from './values-json.ts';

const SAVEPOINT = 'cdc_conflict';

/** What `record` was called with, to write a record again after a savepoint rolled it back. */
export type RecordArgs = [Check, ChangeEvent, ConflictKind, string | null, Version | null, ConflictOutcome];

export class DecidedWrites<C extends TargetConnection> {
  /** While set, records written are also kept here (a key change may roll them back and write them again). */
  capture: RecordArgs[] | null = null;
  private readonly syntax: StatementSyntax;
  private readonly dialect: ConflictDialect<C>;
  private readonly counts: ConflictCounts;

  constructor(syntax: StatementSyntax, dialect: ConflictDialect<C>, counts: ConflictCounts) {
    this.syntax = syntax;
    this.dialect = dialect;
    this.counts = counts;
  }

  /** A resolver sent the change to the dead letters: recorded, nothing written. */
  async deadLetter(
    connection: C,
    check: Check,
    event: ChangeEvent,
    kind: ConflictKind,
    localJson: string | null,
    localVersion: Version | null,
    reason: string,
  ): Promise<CdcError> {
    await this.record(connection, check, event, kind, localJson, localVersion, 'dead_lettered');
    return new CdcError('APPLY_FAILED', `conflict on ${check.shape.sql} key ${check.keyJson}: ${reason}`, {
      table: check.shape.sql,
      position: formatPosition(event.source.position),
    });
  }

  /** Runs a write under a savepoint: a unique-key violation is rolled back, recorded and dead-lettered. */
  async guarded(
    connection: C,
    check: Check,
    event: ChangeEvent,
    statement: Statement,
  ): Promise<CdcError | null> {
    await connection.run({ text: `SAVEPOINT ${SAVEPOINT}`, values: [] });
    try {
      await connection.run(statement);
    } catch (error) {
      if (!this.dialect.isUniqueViolation(error)) throw error;
      await connection.run({ text: `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, values: [] });
      await this.record(connection, check, event, 'unique_violation', null, null, 'dead_lettered');
      const detail = (error as { detail?: unknown }).detail;
      return new CdcError(
        'APPLY_FAILED',
        `${event.op === 'c' ? 'insert' : event.op === 'u' ? 'update' : 'delete'} at ${formatPosition(event.source.position)} on ${check.shape.sql} violates a unique key${typeof detail === 'string' ? `: ${detail}` : ''}`,
        { table: check.shape.sql, position: formatPosition(event.source.position) },
        { cause: error },
      );
    }
    await connection.run({ text: `RELEASE SAVEPOINT ${SAVEPOINT}`, values: [] });
    return null;
  }

  async record(
    connection: C,
    check: Check,
    event: ChangeEvent,
    kind: ConflictKind,
    localJson: string | null,
    localVersion: Version | null,
    outcome: ConflictOutcome,
  ): Promise<void> {
    this.capture?.push([check, event, kind, localJson, localVersion, outcome]);
    const remote = event.after ?? event.before;
    await connection.run(
      recordConflict(
        {
          link: check.link,
          table: check.table,
          keyJson: check.keyJson,
          kind,
          policy: check.policy.policy,
          outcome,
          localJson,
          remoteJson: remote ? rowJson(remote) : null,
          localOrigin: localVersion?.origin ?? null,
          remoteOrigin: check.remote.origin,
          localCommitTs: localVersion ? microsToTimestamp(localVersion.commitMicros) : null,
          remoteCommitTs: microsToTimestamp(check.remote.commitMicros),
        },
        this.dialect.flavor,
      ),
    );
    this.counts.note({ table: check.table, kind, policy: check.policy.policy, outcome });
  }

  /**
   * Inserts a row known missing (it is locked as absent): a unique violation of any key only skips the row, so
   * no savepoint is needed on this hot path; a skipped row is written again under a savepoint, which names the
   * violated key, records it and dead-letters the change.
   */
  async insertMissing(
    connection: C,
    check: Check,
    event: InsertEvent | UpdateEvent,
    row: Row = event.after,
  ): Promise<CdcError | null> {
    const statement = this.insert1(check, row);
    const written = await connection.run({
      text: `${statement.text} ${this.dialect.onAnyConflictNothing}`,
      values: statement.values,
    });
    if (written.count > 0) return null;
    return this.guarded(connection, check, event, statement);
  }

  insert1(check: Check, row: Row): Statement {
    return insertRows(this.syntax, check.shape.table, check.shape.sql, [row], false);
  }

  upsert(check: Check, row: Row): Statement {
    return insertRows(this.syntax, check.shape.table, check.shape.sql, [row], true);
  }
}
