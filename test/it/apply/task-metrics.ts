/**
 * Applies events through an apply task's sink built from a configuration (as the pipeline builds it) and
 * returns the /metrics text the pipeline's bridge makes of its counts. No Kafka is needed for that.
 */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { silentLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { createMetrics } from '../../../services/metrics/metrics.ts';
import { ApplyTask } from '../../../services/pipeline/apply-task.ts';
import { MetricsBridge } from '../../../services/pipeline/metrics-bridge.ts';
import { stack, uniqueName } from '../../support/stack.ts';

export async function metricsAfterApply(
  url: string,
  source: string,
  events: readonly ChangeEvent[],
  replica: Record<string, unknown> = {},
): Promise<string> {
  const config = parseConfig(
    JSON.stringify({
      name: 'task-metrics',
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: uniqueName('tm') },
      sources: [{ name: source, kind: 'postgres', url: stack.pgSourceUrl, slot: uniqueName('slot') }],
      replicas: [{ name: 'dst', source, kind: 'postgres', url, ...replica }],
    }),
    'json',
  );
  const task = new ApplyTask(config.replicas[0]!, config.kafka, silentLogger);
  try {
    await task.sink.apply(source, [{ commit: events[0]!.source.position.commit, events, complete: true }]);
  } finally {
    await task.sink.close();
  }
  const metrics = createMetrics();
  new MetricsBridge(metrics, [], [task]).refresh();
  return metrics.render();
}
