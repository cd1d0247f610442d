/**
 * UPDATE and DELETE of one row by its key, for the conflict writer (updates may add a delta to a counter).
 */
import type { Row } from '../../../schemas/events/change-event.ts';
import type { Statement, StatementSyntax, TableShape } from '../sql-dialect.ts';
import type { Assignment } from './column-choice.ts';

export function updateByKey(
  syntax: StatementSyntax,
  shape: TableShape,
  key: Row,
  assignments: readonly Assignment[],
): Statement | null {
  if (assignments.length === 0) return null;
  const values: unknown[] = [];
  const byName = new Map(shape.table.columns.map((column) => [column.name, column]));
  const set = assignments.map((a) => {
    const column = byName.get(a.column)!;
    values.push(a.delta ? a.value : syntax.parameter(a.value as Row[string], column, shape.table));
    const name = syntax.ident(a.column);
    const placeholder = syntax.placeholder(values.length);
    return a.delta ? `${name} = ${name} + ${placeholder}` : `${name} = ${placeholder}`;
  });
  return {
    text: `UPDATE ${shape.sql} SET ${set.join(', ')} WHERE ${where(syntax, shape, key, values)}`,
    values,
  };
}

export function deleteByKey(syntax: StatementSyntax, shape: TableShape, key: Row): Statement {
  const values: unknown[] = [];
  return { text: `DELETE FROM ${shape.sql} WHERE ${where(syntax, shape, key, values)}`, values };
}

function where(syntax: StatementSyntax, shape: TableShape, key: Row, values: unknown[]): string {
  const byName = new Map(shape.table.columns.map((column) => [column.name, column]));
  return shape.table.key
    .map((name) => {
      values.push(syntax.parameter(key[name], byName.get(name)!, shape.table));
      return `${syntax.ident(name)} = ${syntax.placeholder(values.length)}`;
    })
    .join(' AND ');
}
