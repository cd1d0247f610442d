/**
 * An in-memory EventFeed with the consumer's contract: batches in order, the next only after the handler
 * resolved; a rejected handler stops the feed with that error. Records which batches were acknowledged.
 */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import type { CdcError } from '../../../services/common/errors.ts';
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

  async run(handler: BatchHandler, signal: AbortSignal): Promise<void> {
    for (const batch of this.batches) {
      if (signal.aborted) return;
      await handler(batch);
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
