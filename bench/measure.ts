/** Times one pipeline stage until it has handled every row, sampling the process's resident memory meanwhile. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Target } from './targets.ts';

export interface StageResult {
  readonly stage: string;
  readonly rows: number;
  readonly seconds: number;
  /** Seconds from the start until the first event was handled (20 ms resolution). */
  readonly firstEventSeconds: number;
  readonly peakRssMb: number;
  /** CPU time (user + system) of this process per row while the stage ran, in microseconds. */
  readonly cpuMicrosPerRow?: number;
  /**
   * Share of the stage's time the event loop was busy (0 to 1): far below 1 means the stage waits on round
   * trips rather than on this process's CPU.
   */
  readonly loopBusy?: number;
  readonly rawName?: string;
  readonly rawSeconds?: number;
  /** What the row is held to (bench/targets.ts); a row without one is there for orientation. */
  readonly target?: Target;
}

/** Our capture stage, timed, with what a reader of its output needs. */
export interface CaptureOutcome {
  readonly capture: StageResult;
  readonly changelog: string;
  /** Kafka transactions the rows were published in: exactly once costs a few round trips for each. */
  readonly transactions: number;
}

export async function measure(
  stage: string,
  rows: number,
  start: (signal: AbortSignal) => { running: Promise<void>; events: () => number },
  timeoutMs = 30 * 60_000,
): Promise<StageResult> {
  const abort = new AbortController();
  let peak = process.memoryUsage.rss();
  const cpuBefore = process.cpuUsage();
  const loopBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const { running, events } = start(abort.signal);
  let failure: unknown = null;
  running.catch((error: unknown) => (failure = error));
  let firstEvent: number | null = null;
  for (let handled = events(); handled < rows; handled = events()) {
    if (firstEvent === null && handled > 0) firstEvent = performance.now();
    if (failure !== null)
      throw failure instanceof Error ? failure : new Error(`${stage} failed`, { cause: failure });
    if (performance.now() - started > timeoutMs) throw new Error(`${stage}: not done after ${timeoutMs} ms`);
    peak = Math.max(peak, process.memoryUsage.rss());
    await delay(20);
  }
  const finished = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  const loop = performance.eventLoopUtilization(loopBefore);
  abort.abort();
  await running;
  return {
    stage,
    rows,
    seconds: (finished - started) / 1000,
    firstEventSeconds: ((firstEvent ?? finished) - started) / 1000,
    peakRssMb: Math.round(peak / 1024 / 1024),
    cpuMicrosPerRow: (cpu.user + cpu.system) / rows,
    loopBusy: loop.utilization,
  };
}

/** The value below which `fraction` of the sorted `values` lie (0 for none). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}
