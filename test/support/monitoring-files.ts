/**
 * The monitoring files of ops/ as data: Prometheus alert rules (YAML) and the Grafana dashboard (JSON), and
 * the metric names of ours (`cdc_*`) their expressions use.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly annotations?: { readonly summary?: string };
}

const root = new URL('../../', import.meta.url);

export function alertRules(): AlertRule[] {
  const file = parse(readFileSync(new URL('ops/prometheus/alerts.yml', root), 'utf8')) as {
    groups: { name: string; rules: AlertRule[] }[];
  };
  return file.groups.flatMap((group) => group.rules);
}

export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(new URL('ops/grafana/cdc-dashboard.json', root), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

/** Every `cdc_*` metric name the alert rules and the dashboard use. */
export function ourMetricNames(): Set<string> {
  const expressions = [...alertRules().map((rule) => rule.expr), ...dashboardExpressions()];
  return new Set(expressions.flatMap((expr) => [...expr.matchAll(/\bcdc_[a-z0-9_]+/g)].map((m) => m[0])));
}

/** Metric names a `/metrics` answer declares (`# TYPE` lines: present even before a labelled series has a value). */
export function declaredMetrics(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));
}
