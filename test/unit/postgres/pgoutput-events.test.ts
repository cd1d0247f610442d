/**
 * Row messages as change events: each op's images, the columns whose TOAST value was not sent named in
 * `unchanged` and left out of the row, key-only images, and a column named `__proto__` kept as a column.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pgoutput } from 'pg-logical-replication';
import {
  rowChangeEvent,
  type EventContext,
} from '../../../connectors/postgres/replication/pgoutput-events.ts';
import type { TableSchema } from '../../../schemas/events/table-schema.ts';

const table: TableSchema = {
  dialect: 'postgres',
  schema: 'public',
  table: 'items',
  key: ['id'],
  beforeImage: 'key',
  columns: [
    { name: 'id', type: { kind: 'int32' }, sourceType: 'integer', nullable: false },
    { name: '__proto__', type: { kind: 'text' }, sourceType: 'text', nullable: true },
    { name: 'body', type: { kind: 'text' }, sourceType: 'text', nullable: true },
  ],
} as unknown as TableSchema;

const context = {
  table,
  source: { connector: 'src' },
  transaction: { id: '7', index: 0, total: null },
} as unknown as EventContext;

/** A tuple as the tuple reader makes it: prototype-less, raw text, undefined for an unsent TOAST value. */
function tuple(values: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(null) as Record<string, unknown>, values);
}

const relation = {} as Pgoutput.MessageRelation;

test('an insert carries its whole row; a column named __proto__ is an own column of it', () => {
  const event = rowChangeEvent(
    { tag: 'insert', relation, new: tuple({ id: '1', ['__proto__']: 'p', body: null }) },
    context,
  );
  assert.equal(event.op, 'c');
  assert.equal(event.before, null);
  assert.deepEqual(Object.keys(event.after), ['id', '__proto__', 'body']);
  assert.equal(Object.getPrototypeOf(event.after), Object.prototype, 'the prototype is untouched');
  assert.equal(Object.getOwnPropertyDescriptor(event.after, '__proto__')?.value, 'p');
  assert.equal(event.after['id'], 1);
  assert.equal(event.source, context.source);
  assert.equal(event.transaction, context.transaction);
});

test('an update names the columns whose TOAST value was not sent, and leaves them out of the row', () => {
  const event = rowChangeEvent(
    {
      tag: 'update',
      relation,
      key: tuple({ id: '1' }),
      old: null,
      new: tuple({ id: '2', ['__proto__']: undefined, body: undefined }),
    },
    context,
  );
  assert.equal(event.op, 'u');
  assert.deepEqual(event.before, { id: 1 }, 'the key-only image has the key alone');
  assert.deepEqual(event.after, { id: 2 });
  assert.deepEqual(event.op === 'u' ? event.unchanged : null, ['__proto__', 'body']);
});

test('a delete carries the old image, and one without any is refused, naming the table', () => {
  const event = rowChangeEvent({ tag: 'delete', relation, key: tuple({ id: '3' }), old: null }, context);
  assert.equal(event.op, 'd');
  assert.deepEqual(event.before, { id: 3 });
  assert.equal(event.after, null);
  assert.throws(
    () => rowChangeEvent({ tag: 'delete', relation, key: null, old: null }, context),
    /delete on public\.items carries no old row or key/,
  );
});
