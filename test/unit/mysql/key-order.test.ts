import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDecimalText, compareLocally } from '../../../connectors/mysql/types/key-order.ts';
import type { ColumnSchema, ColumnType } from '../../../schemas/events/table-schema.ts';
import type { Value } from '../../../schemas/events/change-event.ts';
import {
  readSnapshotState,
  writeSnapshotState,
  type SnapshotState,
} from '../../../connectors/mysql/snapshot/snapshot-state.ts';

function column(type: ColumnType): ColumnSchema {
  return { name: 'k', type, sourceType: 'x', nullable: false };
}

/** Sorts with the local comparison; every kind here must be decidable without the server. */
function sorted(type: ColumnType, values: readonly Value[]): Value[] {
  return [...values].sort((a, b) => {
    const order = compareLocally(column(type), a, b);
    assert.notEqual(order, null, `${type.kind} is compared locally`);
    return order ?? 0;
  });
}

void describe('key order as the server sorts it', () => {
  void test('decimal text compares exactly, past float precision, signs and trailing zeros included', () => {
    assert.equal(compareDecimalText('12345678901234567890.000000001', '12345678901234567890.0000000001'), 1);
    assert.equal(compareDecimalText('-2.5', '-10'), 1);
    assert.equal(compareDecimalText('-0.00', '0'), 0);
    assert.equal(compareDecimalText('1.50', '1.5'), 0);
    assert.equal(compareDecimalText('0.001', '-0.001'), 1);
    assert.equal(compareDecimalText('99', '100'), -1);
  });

  void test('integers beyond 2^53 and unsigned beyond 2^63 compare as integers', () => {
    assert.deepEqual(
      sorted({ kind: 'uint64' }, [18446744073709551615n, 9007199254740993n, 9007199254740992n]),
      [9007199254740992n, 9007199254740993n, 18446744073709551615n],
    );
    assert.deepEqual(sorted({ kind: 'int32' }, [10, -3, 2]), [-3, 2, 10]);
  });

  void test('TIME by signed duration, ENUM by declared index, SET by bitmask, bytes bytewise', () => {
    assert.deepEqual(sorted({ kind: 'time' }, ['100:00:00', '-01:00:00', '09:59:59.5', '-00:00:01']), [
      '-01:00:00',
      '-00:00:01',
      '09:59:59.5',
      '100:00:00',
    ]);
    assert.deepEqual(sorted({ kind: 'enum', values: ['zeta', 'alpha'] }, ['alpha', 'zeta']), [
      'zeta',
      'alpha',
    ]);
    assert.deepEqual(sorted({ kind: 'set', values: ['b', 'a'] }, ['a', 'b,a', 'b', '']), [
      '',
      'b',
      'a',
      'b,a',
    ]);
    const bytes = [Uint8Array.of(0xff), Uint8Array.of(0x00, 0x01), Uint8Array.of(0x00)];
    assert.deepEqual(sorted({ kind: 'bytes' }, bytes), [
      Uint8Array.of(0x00),
      Uint8Array.of(0x00, 0x01),
      Uint8Array.of(0xff),
    ]);
  });

  void test('text and UUID order is left to the server (collations, MariaDB UUID byte order)', () => {
    assert.equal(compareLocally(column({ kind: 'string' }), 'B', 'a'), null);
    assert.equal(compareLocally(column({ kind: 'uuid' }), '00000000-0000-0000-0000-000000000001', 'f'), null);
  });
});

void describe('snapshot state', () => {
  void test('restart points survive the JSON round trip, binary keys included', () => {
    const state: SnapshotState = {
      from: '0-1-10',
      seq: '0',
      tables: ['db.a', 'db.b'],
      tableIndex: 1,
      lastKey: [Uint8Array.of(1, 2), '5'],
      tableRows: 400,
      eventIndex: 900,
      shape: 'id:int(11):NO:PK',
      done: false,
      resumes: [{ at: '0-1-20', tableIndex: 1, lastKey: [Uint8Array.of(0, 255), 7] }],
    };
    const restored = readSnapshotState(JSON.parse(JSON.stringify(writeSnapshotState(state))));
    assert.deepEqual(restored, state);
  });

  void test('a state saved before restart points existed reads as having none', () => {
    const restored = readSnapshotState({ from: '0-1-10', seq: '0', tables: ['db.a'], tableIndex: 0 });
    assert.deepEqual(restored?.resumes, []);
  });
});
