/**
 * ops/prometheus/alerts.yml and ops/grafana/cdc-dashboard.json parse, and every alert has a summary and a
 * `for:`. That the metrics they name exist is checked against a running pipeline (test/it/ops/dashboard.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertRules, dashboardExpressions, ourMetricNames } from '../../support/monitoring-files.ts';

void test('every alert rule has an expression, a summary and a for:', () => {
  const rules = alertRules();
  assert.ok(rules.length >= 6, 'the alert file lists its rules');
  for (const rule of rules) {
    assert.ok(rule.expr.trim().length > 0, `${rule.alert} has no expr`);
    assert.ok((rule.annotations?.summary ?? '').length > 10, `${rule.alert} has no summary`);
    assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert} has no for:`);
  }
  for (const [what, alert] of [
    ['lag', 'CdcReplicaLagHigh'],
    ['dead letters', 'CdcDeadLetters'],
    ['a connector failing', 'CdcConnectorFailing'],
    ['a worker failing', 'CdcWorkerFailing'],
    ['capture stalled', 'CdcCaptureStalled'],
    ['disk', 'CdcDiskFillingUp'],
    ['a slot keeping WAL', 'CdcSlotRetainsWal'],
    ['a binlog about to be purged', 'CdcBinlogAtRisk'],
  ] as const)
    assert.ok(
      rules.some((rule) => rule.alert === alert),
      `no alert for ${what}`,
    );
});

void test('the Grafana dashboard parses and charts our metrics', () => {
  assert.ok(dashboardExpressions().length >= 8);
  assert.ok(ourMetricNames().has('cdc_apply_lag_seconds'));
});
