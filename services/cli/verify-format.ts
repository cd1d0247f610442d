/** The verification report as text for a terminal: a table per replica, then every difference by range. */
import type { DifferingRange, RowKey } from '../verify/types.ts';
import type { VerifyReport } from '../verify/verify-replica.ts';
import { renderTable } from './table.ts';

export function formatVerifyReport(report: VerifyReport): string {
  const equalTables = report.tables.filter((table) => table.equal).length;
  const verdict = report.equal ? 'EQUAL' : 'DIFFERENT';
  const lines = [
    `replica ${report.replica} vs source ${report.source}: ${verdict} (${equalTables} of ${report.tables.length + report.failures.length} tables equal) in ${(report.durationMs / 1000).toFixed(1)} s`,
    '',
    renderTable(
      ['table', 'chunks', 'source rows', 'target rows', 'rechecks', 'result'],
      [
        ...report.tables.map((table) => [
          table.table,
          String(table.chunks),
          String(table.sourceRows),
          String(table.targetRows),
          String(table.rechecks),
          table.equal ? 'equal' : 'DIFFERENT',
        ]),
        ...report.failures.map((failure) => [failure.table, '-', '-', '-', '-', 'NOT VERIFIED']),
      ],
    ),
  ];
  for (const table of report.tables) {
    if (table.columnsNotCompared.length > 0)
      lines.push(
        '',
        `${table.table}: not compared (left out or masked at capture): ${table.columnsNotCompared.join(', ')}`,
      );
    if (table.equal) continue;
    lines.push('', `${table.table} (replica table ${table.targetTable}):`);
    if (table.columnsMissingOnTarget.length > 0) {
      lines.push(`  columns missing on the replica: ${table.columnsMissingOnTarget.join(', ')}`);
    }
    for (const range of table.differingRanges) lines.push(...formatRange(range));
  }
  if (report.failures.length > 0) {
    lines.push('', 'not verified:');
    for (const failure of report.failures) lines.push(`  ${failure.table}: ${failure.message}`);
  }
  return lines.join('\n');
}

function formatRange(range: DifferingRange): string[] {
  const from = range.from === null ? '(start' : `(${formatKey(range.from)}`;
  const to = range.to === null ? 'end)' : `${formatKey(range.to)}]`;
  const lines = [
    `  range ${from} .. ${to}: ${range.sourceRows} rows on the source, ${range.targetRows} on the replica`,
  ];
  const list = (label: string, keys: readonly RowKey[], count: number) => {
    if (count === 0) return;
    const more = count > keys.length ? ` (and ${count - keys.length} more)` : '';
    lines.push(`    ${label} (${count}): ${keys.map(formatKey).join('; ')}${more}`);
  };
  list('missing on the replica', range.missingOnTarget, range.missingCount);
  list('extra on the replica', range.extraOnTarget, range.extraCount);
  list('different', range.differentRows, range.differentCount);
  return lines;
}

function formatKey(key: RowKey): string {
  return Object.entries(key)
    .map(([column, value]) => `${column}=${JSON.stringify(value)}`)
    .join(', ');
}
