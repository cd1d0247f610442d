/**
 * Column filters and masks at capture: a connector wrapper that passes every event through its source's
 * `columns` rules before the publisher sees it. Both connectors, their snapshots and their streams all hand
 * their events to the publisher through here, so a left-out or masked value never reaches the changelog, the
 * schema topic, the dead-letter topic (which holds changelog records) or a log line written after capture.
 * Before-images (an update's or delete's old row, whole under REPLICA IDENTITY FULL or a binlog full row image)
 * are masked like after-images, with the same deterministic masks, so a replica still finds the row they name.
 */
import type { CaptureBatch, ResumePoint, SourceConnector } from '../../connectors/connector.ts';
import type { ChangeEvent, Row, Value } from '../../schemas/events/change-event.ts';
import { tableId, type TableSchema } from '../../schemas/events/table-schema.ts';
import type { Logger } from '../../common/logger.ts';
import type { ColumnsConfig } from '../config/columns.ts';
import { ColumnRules, type TablePlan } from './column-rules.ts';
import { maskValue } from './column-masks.ts';
import { ConnectorWrapper } from './connector-wrapper.ts';

/** `connector` behind its source's column rules; as it is when the source has none. */
export function filterColumns(
  connector: SourceConnector,
  source: { readonly name: string; readonly columns?: ColumnsConfig | undefined },
  logger: Logger,
): SourceConnector {
  const rules = new ColumnRules(source.name, source.columns ?? {});
  return rules.empty ? connector : new ColumnFilter(connector, rules, logger);
}

export class ColumnFilter extends ConnectorWrapper {
  readonly #rules: ColumnRules;
  readonly #logger: Logger;
  /** Connectors reuse one TableSchema object per table version, so a plan is made once per version. */
  readonly #plans = new WeakMap<TableSchema, TablePlan | null>();

  constructor(inner: SourceConnector, rules: ColumnRules, logger: Logger) {
    super(inner);
    this.#rules = rules;
    this.#logger = logger;
  }

  async *stream(resume: ResumePoint, signal: AbortSignal): AsyncGenerator<CaptureBatch> {
    for await (const batch of this.inner.stream(resume, signal)) {
      let events: ChangeEvent[] | null = null;
      batch.events.forEach((event, index) => {
        const plan = this.#planOf(event.table);
        if (plan === null) return;
        events ??= batch.events.slice();
        events[index] = filtered(event, plan);
      });
      yield events === null ? batch : { ...batch, events };
    }
  }

  #planOf(table: TableSchema): TablePlan | null {
    const known = this.#plans.get(table);
    if (known !== undefined) return known;
    const plan = this.#rules.plan(table);
    if (plan !== null && plan.unknownColumns.length > 0) {
      this.#logger.warn(
        { table: tableId(table), columns: plan.unknownColumns },
        'columns configured for this table are not among its columns (misspelt?): nothing of them is masked or left out',
      );
    }
    this.#plans.set(table, plan);
    return plan;
  }
}

/** The event as the rules let it out: left-out columns gone from rows and lists, masked values replaced. */
export function filtered(event: ChangeEvent, plan: TablePlan): ChangeEvent {
  switch (event.op) {
    case 't':
      return { ...event, table: plan.table };
    case 'c':
    case 'r':
      return { ...event, table: plan.table, after: filteredRow(event.after, plan) };
    case 'u':
      return {
        ...event,
        table: plan.table,
        before: event.before === null ? null : filteredRow(event.before, plan),
        after: filteredRow(event.after, plan),
        unchanged: event.unchanged.filter((column) => !plan.dropped.has(column)),
      };
    case 'd':
      return { ...event, table: plan.table, before: filteredRow(event.before, plan) };
  }
}

function filteredRow(row: Row, plan: TablePlan): Row {
  const entries: [string, Value][] = [];
  for (const [column, value] of Object.entries(row)) {
    if (plan.dropped.has(column)) continue;
    const mask = plan.masks.get(column);
    // An absent value (unchanged TOAST, outside a key-only image) stays absent: there is nothing to mask.
    entries.push([column, mask === undefined || value === undefined ? value : maskValue(mask, value)]);
  }
  // fromEntries defines own properties, so a column named like an Object.prototype member stays a column.
  return Object.fromEntries(entries);
}
