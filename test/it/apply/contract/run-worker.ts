/** Runs an ApplyWorker over in-memory batches through a given sink, as production wires it. */
import type { ChangeEvent } from '../../../../schemas/events/change-event.ts';
import { ApplyWorker, type ApplyWorkerOptions } from '../../../../services/apply/apply-worker.ts';
import type { Sink } from '../../../../services/apply/sink.ts';
import { MemoryDeadLetters, MemoryFeed } from '../../../unit/apply/memory-feed.ts';

export interface Run {
  readonly worker: ApplyWorker;
  readonly feed: MemoryFeed;
  readonly deadLetters: MemoryDeadLetters;
  readonly error: unknown;
}

export interface RunOptions {
  readonly onError?: ApplyWorkerOptions['onError'];
  readonly maxEvents?: number;
  /** Called before batch i is handed to the worker (to break the connection, for example). */
  readonly between?: (index: number) => Promise<void>;
}

/** Applies `batches` with a worker on `sink`, then closes the sink; the worker's error is returned, not thrown. */
export async function runWorker(
  sink: Sink,
  stream: string,
  batches: readonly (readonly ChangeEvent[])[],
  options: RunOptions = {},
): Promise<Run> {
  const feed = new MemoryFeed(batches);
  const deadLetters = new MemoryDeadLetters();
  const worker = new ApplyWorker({
    stream,
    feed: options.between ? withHook(feed, options.between) : feed,
    sink,
    deadLetters,
    onError: options.onError ?? 'dead-letter',
    batch: { maxEvents: options.maxEvents ?? 5_000 },
    backoff: { initialMs: 20, maxMs: 200 },
  });
  let error: unknown = null;
  try {
    await worker.run(new AbortController().signal);
  } catch (caught) {
    error = caught;
  } finally {
    await sink.close();
  }
  return { worker, feed, deadLetters, error };
}

function withHook(feed: MemoryFeed, between: (index: number) => Promise<void>): MemoryFeed {
  const hooked = Object.create(feed) as MemoryFeed;
  hooked.run = async (handler, signal) => {
    let index = 0;
    await feed.run(async (batch) => {
      await between(index++);
      return handler(batch);
    }, signal);
  };
  return hooked;
}
