/** Runs an ApplyWorker with a PostgresSink over in-memory batches, as production wires it. */
import type { ChangeEvent } from '../../../schemas/events/change-event.ts';
import { PostgresSink, originName } from '../../../services/apply/postgres/postgres-sink.ts';
import { runWorker, type Run, type RunOptions } from './contract/run-worker.ts';

export type { Run };

export const streams: string[] = [];

export function origins(): string[] {
  return streams.map(originName);
}

export async function applyBatches(
  url: string,
  stream: string,
  batches: readonly (readonly ChangeEvent[])[],
  options: RunOptions = {},
): Promise<Run> {
  if (!streams.includes(stream)) streams.push(stream);
  return runWorker(new PostgresSink({ url }), stream, batches, options);
}
