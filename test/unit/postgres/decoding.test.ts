import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkServerSettings,
  type ServerSettings,
} from '../../../connectors/postgres/replication/server-checks.ts';
import { checkSlot } from '../../../connectors/postgres/replication/slot.ts';
import { decodeValue } from '../../../connectors/postgres/types/decode-value.ts';
import { parseArrayText } from '../../../connectors/postgres/types/pg-array.ts';

describe('PostgreSQL array text', () => {
  test('quoting, NULL elements, nesting and dimension prefixes', () => {
    assert.deepEqual(parseArrayText('{1,NULL,"NULL","a,b","q\\"x",""}'), [
      '1',
      null,
      'NULL',
      'a,b',
      'q"x',
      '',
    ]);
    assert.deepEqual(parseArrayText('{{1,2},{3,4}}'), [
      ['1', '2'],
      ['3', '4'],
    ]);
    assert.deepEqual(parseArrayText('[0:1]={x,y}'), ['x', 'y']);
    assert.deepEqual(parseArrayText('{}'), []);
    assert.throws(() => parseArrayText('{1,2'), /not a PostgreSQL array literal/);
  });

  test('values decode exactly from their text form', () => {
    assert.equal(decodeValue({ kind: 'int64' }, '9223372036854775807'), 9223372036854775807n);
    assert.ok(Number.isNaN(decodeValue({ kind: 'float64' }, 'NaN')));
    assert.equal(decodeValue({ kind: 'float32' }, '-Infinity'), -Infinity);
    assert.equal(decodeValue({ kind: 'decimal' }, '1.10'), '1.10');
    assert.deepEqual(decodeValue({ kind: 'bytes' }, '\\x00ff'), new Uint8Array([0, 255]));
    assert.deepEqual(decodeValue({ kind: 'array', element: { kind: 'int32' } }, '{{1,NULL}}'), [[1, null]]);
    assert.equal(decodeValue({ kind: 'boolean' }, 'f'), false);
    assert.equal(decodeValue({ kind: 'text' }, null), null);
  });
});

describe('PostgreSQL start-up checks', () => {
  const ready: ServerSettings = {
    walLevel: 'logical',
    maxReplicationSlots: 10,
    maxWalSenders: 10,
    slotsInUse: 1,
    slotExists: false,
    role: 'cdc',
    isSuperuser: false,
    canReplicate: true,
  };

  // The shared test server runs with wal_level = logical and cannot be restarted, so the wal_level and
  // slot-limit messages are checked on settings rows instead.
  test('names the setting to change', () => {
    assert.equal(checkServerSettings(ready), null);
    const walLevel = checkServerSettings({ ...ready, walLevel: 'replica' });
    assert.equal(walLevel?.code, 'SOURCE_NOT_CONFIGURED');
    assert.match(walLevel?.message ?? '', /wal_level is 'replica'.*wal_level = logical/);
    assert.match(checkServerSettings({ ...ready, slotsInUse: 10 })?.message ?? '', /max_replication_slots/);
    assert.match(checkServerSettings({ ...ready, maxWalSenders: 0 })?.message ?? '', /max_wal_senders/);
    const privilege = checkServerSettings({ ...ready, canReplicate: false });
    assert.equal(privilege?.code, 'SOURCE_PRIVILEGE');
    assert.match(privilege?.message ?? '', /ALTER ROLE "cdc" WITH REPLICATION/);
  });

  test('explains why a slot cannot be used', () => {
    const slot = {
      slotType: 'logical',
      plugin: 'pgoutput',
      database: 'src',
      walStatus: 'reserved',
      confirmedFlushLsn: '0/1',
      failover: false,
    };
    assert.equal(checkSlot('s', 'src', slot), null);
    assert.match(
      checkSlot('s', 'src', { ...slot, plugin: 'wal2json' })?.message ?? '',
      /uses output plugin wal2json/,
    );
    assert.match(
      checkSlot('s', 'src', { ...slot, database: 'other' })?.message ?? '',
      /belongs to database "other"/,
    );
    assert.match(
      checkSlot('s', 'src', { ...slot, walStatus: 'lost' })?.message ?? '',
      /invalidated \(wal_status = lost\)/,
    );
    assert.equal(checkSlot('s', 'src', { ...slot, walStatus: 'lost' })?.code, 'SLOT_INVALID');
  });
});
