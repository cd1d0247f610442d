/** The last received position that /status shows: row changes count, though their text is parsed only when read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastReceived, newTracker } from '../../../connectors/postgres/replication/stream-tracker.ts';
import { parseLsn } from '../../../schemas/positions/lsn.ts';

test('the last received position is the later of the last row change and the last other message', () => {
  const tracker = newTracker();
  assert.equal(lastReceived(tracker), null, 'nothing received yet');
  tracker.received = parseLsn('0/100');
  assert.equal(lastReceived(tracker), parseLsn('0/100'));
  tracker.receivedText = '0/1A0';
  assert.equal(lastReceived(tracker), parseLsn('0/1A0'), 'a row change after the BEGIN counts');
  tracker.received = parseLsn('1/0');
  assert.equal(lastReceived(tracker), parseLsn('1/0'), 'a later COMMIT counts over the row before it');
});
