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
  /** When the record was published into its topic (Kafka's CreateTime), epoch ms; unknown to in-memory feeds. */
  readonly publishedMillis?: number;
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

/**
 * What the feed tells a handler while it works on a batch. A handler that sees `shouldYield()` stops at the next
 * source transaction boundary and hands the rest back (`redeliverFrom`): the feed then commits what is done and
 * delivers the rest again. The feed asks this when the batch has run for its time budget, so offsets are
 * committed regularly however slow the target, or when the consumer group is rebalancing and wants this member
 * back. A handler always applies something before yielding, so every batch makes progress.
 */
export interface BatchControl {
  shouldYield(): boolean;
  /**
   * Counts the consumer's group joins. A handler that sees it change owns its partitions anew: another member
   * may have applied the stream meanwhile, so it reads the replica's applied position again.
   */
  readonly generation?: number;
  /**
   * More events of the same fetch follow this batch (a feed hands a large fetch over in slices, so only a slice
   * is decoded at a time). A last source transaction that is not complete is then handed back (`redeliverFrom`)
   * even when it is the only one: its rest may be among those events, and the feed delivers it again with them.
   */
  readonly more?: boolean;
}

export type BatchHandler = (
  batch: readonly ConsumedEvent[],
  control?: BatchControl,
) => Promise<HandlerResult>;

export interface EventFeed {
  run(handler: BatchHandler, signal: AbortSignal): Promise<void>;
}

export interface DeadLetterSink {
  publish(consumed: ConsumedEvent, reason: string, error: CdcError): Promise<void>;
}
