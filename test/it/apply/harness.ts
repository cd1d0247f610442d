/** Runs an ApplyWorker with a PostgresSink over in-memory batches, as production wires it. */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { ApplyWorker, type ApplyWorkerOptions } from '../../../services/apply/apply-worker.ts';
import { PostgresSink, originName } from '../../../services/apply/postgres/postgres-sink.ts';
import { MemoryDeadLetters, MemoryFeed } from '../../unit/apply/memory-feed.ts';

export interface Run {
  readonly worker: ApplyWorker;
  readonly feed: MemoryFeed;
  readonly deadLetters: MemoryDeadLetters;
  readonly error: unknown;
}

export const streams: string[] = [];

export function origins(): string[] {
  return streams.map(originName);
}

export async function applyBatches(
  url: string,
  stream: string,
  batches: readonly (readonly ChangeEvent[])[],
  options: {
    onError?: ApplyWorkerOptions['onError'];
    maxEvents?: number;
    between?: (index: number) => Promise<void>;
  } = {},
): Promise<Run> {
  if (!streams.includes(stream)) streams.push(stream);
  const sink = new PostgresSink({ url });
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

/** Calls `between(i)` before batch i is handed to the worker (to break the connection, for example). */
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
