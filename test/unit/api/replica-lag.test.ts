/** Lag-aware routing: which replicas are within a lag bound, and the reason given for the others. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lagNotReadyReasons, routeReplica } from '../../../services/api/replica-lag.ts';
import type { ApplyWorkerStatus } from '../../../services/api/status-types.ts';

function worker(fields: Partial<ApplyWorkerStatus>): ApplyWorkerStatus {
  return {
    name: 'dst',
    source: 'src',
    state: 'running',
    appliedPosition: 'pg:0/10#0',
    lagMillis: 0,
    endToEndLagMillis: 0,
    hopLagMillis: 0,
    backlogEvents: 0,
    eventsApplied: 0,
    transactionsApplied: 0,
    errors: 0,
    deadLetters: 0,
    lastError: null,
    ...fields,
  };
}

void test('a running replica within the bound is routable; above it, the reason gives the figure', () => {
  assert.equal(routeReplica(worker({ endToEndLagMillis: 500 }), 1000).withinBound, true);
  const far = routeReplica(worker({ endToEndLagMillis: 1500 }), 1000);
  assert.equal(far.withinBound, false);
  assert.equal(far.reason, 'lag 1500 ms is above the bound of 1000 ms');
  assert.equal(routeReplica(worker({ endToEndLagMillis: 1500 }), null).withinBound, true);
});

void test('paused, failed and not started replicas are out, each with why', () => {
  assert.match(
    routeReplica(worker({ state: 'paused', endToEndLagMillis: 20 }), 1000).reason ?? '',
    /^paused, lag 20 ms/,
  );
  assert.equal(
    routeReplica(worker({ state: 'failed', lastError: 'TARGET_UNREACHABLE: refused' }), 1000).reason,
    'failed: TARGET_UNREACHABLE: refused',
  );
  assert.match(
    routeReplica(worker({ state: 'starting', appliedPosition: null }), null).reason ?? '',
    /not started/,
  );
});

void test('/ready fails only for replicas with a bound, naming the replica and its lag', () => {
  const bounds = new Map([['dst', 2000]]);
  assert.deepEqual(lagNotReadyReasons([worker({ endToEndLagMillis: 1999 })], bounds), []);
  assert.deepEqual(lagNotReadyReasons([worker({ endToEndLagMillis: 2500 })], bounds), [
    'replica dst lags 2500 ms, above its readyMaxLagMs of 2000 ms',
  ]);
  assert.deepEqual(lagNotReadyReasons([worker({ name: 'other', endToEndLagMillis: 9999 })], bounds), []);
});

void test('a running replica whose lag is not known yet (just resumed) is not ready under its bound', () => {
  const bounds = new Map([['dst', 2000]]);
  assert.match(
    lagNotReadyReasons([worker({ endToEndLagMillis: null })], bounds).join(),
    /lag is unknown yet/,
  );
  assert.deepEqual(lagNotReadyReasons([worker({ state: 'paused', endToEndLagMillis: null })], bounds), []);
});
