/**
 * Where a sink asks whether a table's schema may reach DDL (table-check.ts), once per schema it meets: the
 * answer is kept per TableSchema object, which the decoder makes once per writer schema, so the hot path pays
 * one map lookup. A refusal is logged once, the first time, and handed to every event of the table.
 */
import type { TableSchema } from '../../../schemas/events/table-schema.ts';
import type { CdcError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { tableSchemaRefusal, type TargetRules } from './table-check.ts';

export class SchemaGate {
  readonly #target: TargetRules;
  readonly #logger: Logger;
  readonly #verdicts = new WeakMap<TableSchema, CdcError | null>();

  constructor(target: TargetRules, logger: Logger) {
    this.#target = target;
    this.#logger = logger;
  }

  /** Why `table` is refused on this target, or null when its DDL may run. */
  refusal(table: TableSchema): CdcError | null {
    let verdict = this.#verdicts.get(table);
    if (verdict === undefined) {
      verdict = tableSchemaRefusal(table, this.#target);
      this.#verdicts.set(table, verdict);
      if (verdict) this.#logger.warn({ err: verdict }, 'table refused: its schema fails the DDL check');
    }
    return verdict;
  }

  /** The tables among `tables` whose DDL (user types included) may run. */
  accepted(tables: Iterable<TableSchema>): Set<TableSchema> {
    return new Set([...tables].filter((table) => this.refusal(table) === null));
  }
}
