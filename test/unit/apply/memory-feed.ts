/**
 * An in-memory EventFeed with the consumer's contract: batches in order, the next only after the handler
 * resolved; a rejected handler stops the feed with that error; records the handler hands back come again at the
 * head of the next batch. Records which batches were acknowledged.
 */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { CdcError } from '../../../common/errors.ts';
import type {
  BatchHandler,
  ConsumedEvent,
  DeadLetterSink,
  EventFeed,
} from '../../../services/apply/event-feed.ts';
import { consumed } from './events.ts';

export class MemoryFeed implements EventFeed {
  readonly batches: readonly ConsumedEvent[][];
  acknowledged = 0;

  constructor(batches: readonly (readonly ChangeEvent[])[]) {
    this.batches = batches.map((batch) => consumed(batch));
  }

  /** Records the handler asked to see again and no later batch carried yet (as Kafka would refetch them). */
  held: ConsumedEvent[] = [];

  async run(handler: BatchHandler, signal: AbortSignal): Promise<void> {
    for (const next of this.batches) {
      if (signal.aborted) return;
      const batch = [...this.held, ...next];
      const result = await handler(batch);
      this.held = result === undefined ? [] : batch.slice(result.redeliverFrom);
      this.acknowledged++;
    }
  }
}

export class MemoryDeadLetters implements DeadLetterSink {
  readonly letters: { consumed: ConsumedEvent; reason: string; error: CdcError }[] = [];

  publish(consumed: ConsumedEvent, reason: string, error: CdcError): Promise<void> {
    this.letters.push({ consumed, reason, error });
    return Promise.resolve();
  }
}
