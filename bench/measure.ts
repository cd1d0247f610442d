/** Times one pipeline stage until it reports done, sampling the process's resident memory meanwhile. */
import { setTimeout as delay } from 'node:timers/promises';

export interface StageResult {
  readonly stage: string;
  readonly rows: number;
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly rawName?: string;
  readonly rawSeconds?: number;
}

export async function measure(
  stage: string,
  rows: number,
  start: (signal: AbortSignal) => { running: Promise<void>; done: () => boolean },
  timeoutMs = 30 * 60_000,
): Promise<StageResult> {
  const abort = new AbortController();
  let peak = process.memoryUsage.rss();
  const started = performance.now();
  const { running, done } = start(abort.signal);
  let failure: unknown = null;
  running.catch((error: unknown) => (failure = error));
  while (!done()) {
    if (failure !== null)
      throw failure instanceof Error ? failure : new Error(`${stage} failed`, { cause: failure });
    if (performance.now() - started > timeoutMs) throw new Error(`${stage}: not done after ${timeoutMs} ms`);
    peak = Math.max(peak, process.memoryUsage.rss());
    await delay(20);
  }
  const seconds = (performance.now() - started) / 1000;
  abort.abort();
  await running;
  return { stage, rows, seconds, peakRssMb: Math.round(peak / 1024 / 1024) };
}
