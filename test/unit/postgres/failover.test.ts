import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRetriable } from '../../../common/errors.ts';
import {
  choosePrimary,
  currentFailoverWarnings,
  type ServerRole,
} from '../../../connectors/postgres/replication/failover.ts';

const server = (port: number, overrides: Partial<ServerRole> = {}): ServerRole => ({
  url: `postgres://cdc@127.0.0.1:${port}/shop`,
  inRecovery: false,
  versionNum: 170010,
  version: '17.10',
  slot: null,
  settings: { synchronized_standby_slots: 'standby1' },
  ...overrides,
});
const standby = (port: number, overrides: Partial<ServerRole> = {}): ServerRole =>
  server(port, {
    inRecovery: true,
    settings: { sync_replication_slots: 'on', hot_standby_feedback: 'on', primary_slot_name: 'standby1' },
    ...overrides,
  });

test('failover: the primary that holds the slot wins; a complete set-up has no warning', () => {
  const slot = { failover: true, synced: false, temporary: false };
  const choice = choosePrimary('src', [server(1), server(2, { slot }), standby(3)], []);
  assert.equal(choice.primary.url, server(2).url);
  assert.deepEqual(choice.warnings, []);
});

test('failover: no primary is a retriable wait naming each server', () => {
  assert.throws(
    () => choosePrimary('src', [standby(1)], ['127.0.0.1:2/shop is unreachable (refused)']),
    (error: Error) =>
      isRetriable(error) &&
      /127\.0\.0\.1:1\/shop is a standby/.test(error.message) &&
      /:2\/shop is unreachable/.test(error.message),
  );
});

test('failover: a server older than 17 is refused, naming the field', () => {
  assert.throws(
    () => choosePrimary('src', [server(1, { versionNum: 150010, version: '15.10' })], []),
    (error: Error) =>
      !isRetriable(error) && /sources\[src\]\.failover needs PostgreSQL 17/.test(error.message),
  );
});

test('failover: what is missing on the primary and the standbys is warned of', () => {
  const choice = choosePrimary(
    'src',
    [server(1, { settings: {} }), standby(2, { settings: { primary_slot_name: 'other' } })],
    [],
  );
  const text = choice.warnings.join('\n');
  assert.match(text, /no synchronized_standby_slots/);
  assert.match(text, /sync_replication_slots off/);
  assert.match(text, /hot_standby_feedback off/);
});

test('failover: the periodic check warns about the server capture streams from, and waits out a failover', () => {
  const noSyncSlots = server(2, { settings: {} });
  const warnings = currentFailoverWarnings(noSyncSlots.url, [server(1), noSyncSlots, standby(3)]);
  assert.equal(warnings?.length, 1);
  assert.match(warnings?.[0] ?? '', /^primary 127\.0\.0\.1:2\/shop has no synchronized_standby_slots/);
  assert.deepEqual(currentFailoverWarnings(server(1).url, [server(1), standby(3)]), []);
  // The server streamed from is a standby now, or did not answer: the capture's next start decides.
  assert.equal(currentFailoverWarnings(server(1).url, [standby(1), server(3)]), null);
  assert.equal(currentFailoverWarnings(server(1).url, [server(3)]), null);
});
