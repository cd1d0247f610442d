/**
 * Read-your-writes: waits until a replica holds everything its source had committed up to a position token
 * (ARCHITECTURE.md "Reading your own writes"). Two steps, both on state this process already has:
 *
 * 1. the capture of the replica's source reads its log up to the token (capture-progress.ts); at that moment
 *    every change committed before the token is at or before the last event it handed over. On PostgreSQL a
 *    fence written into the WAL (wal-fence.ts) makes sure that moment comes on an idle source too;
 * 2. the replica's apply worker has committed that event (its applied position, stored in the replica in the
 *    same transaction as the rows, is at or past it).
 *
 * Only replicas whose source's capture runs in this process can be waited for; others answer 501.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CdcError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import {
  comparePosition,
  formatCommit,
  formatPosition,
  parsePosition,
  type EventPosition,
} from '../../schemas/positions/position.ts';
import type { PipelineConfig } from '../config/schema.ts';
import type { ApplyTask } from './apply-task.ts';
import type { CaptureTask } from './capture-task.ts';
import { WalFence } from './wal-fence.ts';
import { parseWaitToken, readCovers } from './wait-token.ts';

/** How often the apply worker's applied position is looked at (in memory: cheap). */
const APPLIED_POLL_MS = 10;

export interface ReplicaWaitResult {
  readonly replica: string;
  readonly source: string;
  /** The token as given. */
  readonly position: string;
  /** The replica's applied position when the wait ended, formatted; null when nothing was ever applied. */
  readonly appliedPosition: string | null;
  readonly waitedMillis: number;
}

export interface ReplicaWaitOptions {
  readonly config: PipelineConfig;
  readonly captures: readonly CaptureTask[];
  readonly applies: readonly ApplyTask[];
  readonly logger: Logger;
  /** Most waits at a time; one more is answered API_BUSY (429). */
  readonly maxWaiters: number;
}

export class ReplicaWaits {
  readonly #options: ReplicaWaitOptions;
  readonly #fences = new Map<string, WalFence>();
  #active = 0;

  constructor(options: ReplicaWaitOptions) {
    this.#options = options;
  }

  async wait(
    replica: string,
    position: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ReplicaWaitResult> {
    const started = Date.now();
    const { apply, capture, source } = this.#parts(replica);
    const token = parseWaitToken(position, source.kind, source.name);
    if (this.#active >= this.#options.maxWaiters)
      throw new CdcError(
        'API_BUSY',
        `${this.#active} waits are running, the most api.waitConcurrency allows; try again shortly`,
      );
    this.#active++;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const covers = (read: Parameters<typeof readCovers>[1]): boolean => readCovers(token, read);
      const read = capture.progress.read;
      let fenceError = null as string | null;
      if (source.kind === 'postgres' && (read === null || !covers(read))) {
        this.#fence(source.name, source.url, source.slot)
          .write()
          .catch((error: unknown) => {
            fenceError = errorMessage(error);
          });
      }
      const needed = await capture.progress.reached(covers, deadline);
      if (needed === undefined) {
        this.#stopped(signal);
        const state = capture.status().state;
        const readText = capture.progress.read === null ? 'nothing yet' : formatCommit(capture.progress.read);
        throw this.#timedOut(
          replica,
          position,
          timeoutMs,
          `the capture of source ${source.name} (${state}) has read its log up to ${readText}, not yet to the token${fenceError === null ? '' : `; writing a WAL fence failed: ${fenceError}`}`,
        );
      }
      const applied = await this.#applied(apply, needed, deadline);
      if (applied === undefined) {
        this.#stopped(signal);
        const status = apply.status();
        throw this.#timedOut(
          replica,
          position,
          timeoutMs,
          `replica ${replica} (${status.state}) has applied up to ${status.appliedPosition ?? 'nothing'}, and needs ${needed === null ? 'nothing' : formatPosition(needed)}`,
        );
      }
      return {
        replica,
        source: source.name,
        position,
        appliedPosition: applied === null ? null : formatPosition(applied),
        waitedMillis: Date.now() - started,
      };
    } finally {
      this.#active--;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#fences.values()].map((fence) => fence.close()));
  }

  /** The replica's worker and its source's capture in this process, or why it cannot be waited for. */
  #parts(replica: string) {
    const { config, captures, applies } = this.#options;
    const configured = config.replicas.find((candidate) => candidate.name === replica);
    if (configured === undefined)
      throw new CdcError(
        'NOT_FOUND',
        `no replica named ${JSON.stringify(replica)} (replicas: ${config.replicas.map((r) => r.name).join(', ') || 'none'})`,
        { replica },
      );
    const apply = applies.find((task) => task.name === replica);
    const capture = captures.find((task) => task.name === configured.source);
    const source = config.sources.find((candidate) => candidate.name === configured.source);
    // One applied position is compared with the token; a keyed replica has one per partition, shared by workers.
    if (source?.changelog.mode === 'keyed')
      throw new CdcError(
        'OPERATION_UNSUPPORTED',
        `replica ${replica} cannot be waited for: source ${source.name} has a keyed changelog (sources[].changelog.mode "keyed"), whose partitions are applied each on its own and by several workers, so no one applied position says a write is readable; use mode "ordered" to read your writes`,
        { replica },
      );
    if (apply === undefined || capture === undefined || source === undefined)
      throw new CdcError(
        'OPERATION_UNSUPPORTED',
        `replica ${replica} can only be waited for in a process that runs both its apply worker and the capture of its source ${configured.source} (this one runs ${apply === undefined ? 'not the worker' : 'the worker'} and ${capture === undefined ? 'not the capture' : 'the capture'})`,
        { replica },
      );
    return { apply, capture, source };
  }

  #fence(name: string, url: string, slot: string): WalFence {
    let fence = this.#fences.get(name);
    if (fence === undefined) {
      fence = new WalFence(url, slot, this.#options.logger.child({ source: name }));
      this.#fences.set(name, fence);
    }
    return fence;
  }

  /** The applied position once it is at or past `needed`; undefined when `deadline` aborts first. */
  async #applied(
    apply: ApplyTask,
    needed: EventPosition | null,
    deadline: AbortSignal,
  ): Promise<EventPosition | null | undefined> {
    for (;;) {
      const text = apply.status().appliedPosition;
      const applied = text === null ? null : parsePosition(text);
      if (needed === null || (applied !== null && comparePosition(applied, needed) >= 0)) return applied;
      try {
        await delay(APPLIED_POLL_MS, undefined, { signal: deadline });
      } catch {
        return undefined;
      }
    }
  }

  #stopped(signal: AbortSignal): void {
    if (signal.aborted) throw new CdcError('STOPPED', 'the wait was cancelled (request closed or shutdown)');
  }

  #timedOut(replica: string, position: string, timeoutMs: number, why: string): CdcError {
    return new CdcError(
      'WAIT_TIMED_OUT',
      `replica ${replica} did not reach position ${position} within ${timeoutMs} ms: ${why}`,
      { replica, position },
    );
  }
}
