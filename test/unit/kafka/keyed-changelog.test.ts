/**
 * The layout of a keyed changelog: each record in the partition Kafka's default partitioner picks for its key,
 * each partition's slice of a source transaction numbered on its own and carrying its own count once the
 * transaction ended, positions untouched; a key change leaves a delete behind in the old key's partition; a
 * truncate of a keyed table reaches every partition.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import { decodeEvent, encodeEvent, schemasOf } from '../../../schemas/avro/codec.ts';
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { formatPosition } from '../../../schemas/positions/position.ts';
import { javaPartition } from '../../../services/kafka/java-partitioner.ts';
import { KeyedLayout, transactionKey, type OrderedRecord } from '../../../services/kafka/keyed-changelog.ts';
import { column, pgTable, transaction, type Change } from '../apply/events.ts';

const PARTITIONS = 4;
const table = pgTable(
  'public',
  'counters',
  [column('id', 'text', { kind: 'text' }, false), column('n', 'text')],
  ['id'],
);
const lookup = (id: string) => (id === schemasOf(table).value.id ? schemasOf(table).value : undefined);

function records(events: readonly ChangeEvent[]): OrderedRecord[] {
  return events.map((event) => {
    const encoded = encodeEvent(event);
    return { event, message: { key: encoded.key, value: encoded.value, partition: 0, headers: {} } };
  });
}

function decoded(message: Message): ChangeEvent {
  return decodeEvent(null, message.value as Buffer, lookup);
}

function byPartition(messages: readonly Message[]): Map<number, ChangeEvent[]> {
  const result = new Map<number, ChangeEvent[]>();
  for (const message of messages) {
    const list = result.get(message.partition!) ?? [];
    list.push(decoded(message));
    result.set(message.partition!, list);
  }
  return result;
}

const inserts = (from: number, count: number): Change[] =>
  Array.from({ length: count }, (_, i) => ({ op: 'c', table, after: { id: `k${from + i}`, n: '1' } }));

test('each record goes to the partition of its key, and each slice is complete on its own', () => {
  const events = transaction(100n, inserts(0, 40));
  const messages = new KeyedLayout(PARTITIONS).place(records(events), new Set([transactionKey(events[0]!)]));
  assert.equal(messages.length, 40);
  for (const message of messages)
    assert.equal(message.partition, javaPartition(message.key as Buffer, PARTITIONS));
  const slices = byPartition(messages);
  assert.equal(slices.size, PARTITIONS, 'forty keys use every partition');
  for (const [partition, slice] of slices) {
    slice.forEach((event, index) => {
      assert.deepEqual(
        event.transaction,
        { id: 'tx100', index, total: slice.length },
        `partition ${partition}`,
      );
    });
    const positions = slice.map((event) => event.source.position.index);
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
      'positions keep rising within a partition',
    );
  }
  const all = [...slices.values()].flat().map((event) => formatPosition(event.source.position));
  assert.deepEqual(all.sort(), events.map((event) => formatPosition(event.source.position)).sort());
});

test('a key change leaves a delete of the old key, at the same position, in the old key partition', () => {
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
  const partitionOf = (id: string) =>
    javaPartition(
      encodeEvent(transaction(1n, [{ op: 'c', table, after: { id, n: '' } }])[0]!).key!,
      PARTITIONS,
    );
  const from = keys[0]!;
  const to = keys.find((id) => partitionOf(id) !== partitionOf(from))!;
  const events = transaction(200n, [{ op: 'u', table, before: { id: from }, after: { id: to, n: '2' } }]);
  const messages = new KeyedLayout(PARTITIONS).place(records(events), new Set([transactionKey(events[0]!)]));
  assert.equal(messages.length, 2);
  const [left, moved] = messages.map(decoded);
  assert.equal(messages[0]!.partition, partitionOf(from));
  assert.equal(left!.op, 'd');
  assert.deepEqual(left!.before, { id: from });
  assert.equal(messages[0]!.headers?.['cdc.op'], 'd');
  assert.equal(messages[1]!.partition, partitionOf(to));
  assert.equal(moved!.op, 'u');
  assert.deepEqual(left!.source.position, moved!.source.position);
  assert.deepEqual(left!.transaction, { id: 'tx200', index: 0, total: 1 });
});

test('a truncate of a keyed table reaches every partition', () => {
  const events = transaction(300n, [{ op: 't', table }]);
  const messages = new KeyedLayout(PARTITIONS).place(records(events), new Set([transactionKey(events[0]!)]));
  assert.deepEqual(messages.map((m) => m.partition).sort(), [0, 1, 2, 3]);
  for (const message of messages) assert.equal(decoded(message).op, 't');
});

test('a transaction published in pieces keeps counting its slices from run to run, and counts them at its end', () => {
  const events = transaction(400n, inserts(0, 30), { totalOnLastOnly: true });
  const layout = new KeyedLayout(PARTITIONS);
  const first = byPartition(layout.place(records(events.slice(0, 20)), new Set()));
  for (const slice of first.values()) for (const event of slice) assert.equal(event.transaction?.total, null);
  const second = byPartition(layout.place(records(events.slice(20)), new Set([transactionKey(events[0]!)])));
  for (const [partition, slice] of second) {
    const before = first.get(partition)?.length ?? 0;
    slice.forEach((event, i) => assert.equal(event.transaction?.index, before + i, `partition ${partition}`));
    assert.equal(
      slice.at(-1)!.transaction?.total,
      before + slice.length,
      `partition ${partition} ends its slice`,
    );
  }
});
