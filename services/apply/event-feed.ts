/**
 * What the apply worker consumes and where it sends what it cannot apply. These mirror the Kafka layer's
 * `ChangeConsumer` and `DeadLetterPublisher` structurally, so production passes those and tests pass an
 * in-memory feed; the apply layer itself never depends on Kafka.
 */
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import type { CdcError } from '../../common/errors.ts';

export interface ConsumedEvent {
  readonly event: ChangeEvent;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * Delivers batches in order. Contract: the feed treats a batch as done (commits its offsets) only after the
 * handler resolved; if the handler rejects, the feed stops and the batch is delivered again after a restart.
 */
/**
 * What a handler made durable: everything (void), or everything before `redeliverFrom`. The feed then
 * commits only that prefix and delivers the rest again at the head of a later batch; a handler uses it to
 * keep a source transaction whose last events have not arrived yet out of the target.
 */
export type HandlerResult = void | { readonly redeliverFrom: number };

export type BatchHandler = (batch: readonly ConsumedEvent[]) => Promise<HandlerResult>;

export interface EventFeed {
  run(handler: BatchHandler, signal: AbortSignal): Promise<void>;
}

export interface DeadLetterSink {
  publish(consumed: ConsumedEvent, reason: string, error: CdcError): Promise<void>;
}
