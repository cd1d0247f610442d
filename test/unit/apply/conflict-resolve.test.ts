/**
 * Which side wins: the same two versions give the same answer whichever node decides, ties on the commit time
 * are broken by the origin node name, and origin priority ranks listed nodes first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { remoteWins } from '../../../services/apply/conflicts/resolve.ts';
import type { RowPolicy, Version } from '../../../services/apply/conflicts/types.ts';

const v = (commitMicros: bigint, origin: string): Version => ({ commitMicros, origin });
const settings = { originPriority: ['eu', 'us'] };

/** Applied on both nodes (each side's local is the other's remote), exactly one side keeps its own version. */
function sameOnBoth(policy: RowPolicy, x: Version, y: Version): void {
  const onX = remoteWins(policy, settings, x, y) ? y : x;
  const onY = remoteWins(policy, settings, y, x) ? x : y;
  assert.deepEqual(
    onX,
    onY,
    `${policy}: ${JSON.stringify([onX, onY], (_k, val: unknown) => (typeof val === 'bigint' ? String(val) : val))}`,
  );
}

test('last-writer-wins: the later commit wins; an equal commit time goes to the greater node name, on both nodes', () => {
  assert.equal(remoteWins('last-writer-wins', settings, v(10n, 'eu'), v(11n, 'us')), true);
  assert.equal(remoteWins('last-writer-wins', settings, v(11n, 'eu'), v(10n, 'us')), false);
  assert.equal(remoteWins('last-writer-wins', settings, v(10n, 'eu'), v(10n, 'us')), true);
  assert.equal(remoteWins('last-writer-wins', settings, v(10n, 'us'), v(10n, 'eu')), false);
  for (const policy of ['last-writer-wins', 'origin-priority', 'merge', 'custom'] as const) {
    sameOnBoth(policy, v(10n, 'eu'), v(10n, 'us'));
    sameOnBoth(policy, v(10n, 'ap'), v(12n, 'us'));
  }
});

test('origin priority: the listed node wins over a later write; unlisted nodes lose to listed ones; same rank falls back to last-writer-wins', () => {
  assert.equal(remoteWins('origin-priority', settings, v(20n, 'us'), v(10n, 'eu')), true);
  assert.equal(remoteWins('origin-priority', settings, v(10n, 'eu'), v(20n, 'us')), false);
  assert.equal(remoteWins('origin-priority', settings, v(10n, 'ap'), v(5n, 'us')), true);
  assert.equal(remoteWins('origin-priority', settings, v(10n, 'ap'), v(20n, 'sa')), true);
});

test('keep-local and keep-remote; nothing local to keep lets the remote change in', () => {
  assert.equal(remoteWins('keep-local', settings, v(1n, 'eu'), v(9n, 'us')), false);
  assert.equal(remoteWins('keep-remote', settings, v(9n, 'eu'), v(1n, 'us')), true);
  assert.equal(remoteWins('keep-local', settings, null, v(1n, 'us')), true);
});

test('a change never loses to its own version (same commit time and origin: the same source transaction, or a later one of that origin in the same microsecond), whatever the policy', () => {
  for (const policy of ['last-writer-wins', 'origin-priority', 'merge', 'custom', 'keep-local'] as const)
    assert.equal(remoteWins(policy, settings, v(10n, 'us'), v(10n, 'us')), true, policy);
});
