/**
 * Long work started through the API (a verify run) as a job: it gets an id at once, runs in the background,
 * and is followed with `GET /jobs/:id` (state, progress, then its result or error), so no request is held
 * open for minutes behind a proxy's timeout. The registry also bounds how many run at once: a start beyond
 * the limit is refused (429) rather than queued, since a queue would only hide the load from the caller.
 * Finished jobs are kept, the most recent `KEPT_FINISHED` of them, for whoever polls late.
 */
import { randomUUID } from 'node:crypto';
import { CdcError, errorMessage } from '../../common/errors.ts';

export const KEPT_FINISHED = 100;

export interface JobProgress {
  readonly done: number;
  readonly total: number | null;
}

export interface JobView {
  readonly id: string;
  readonly kind: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly progress: JobProgress;
  readonly result: unknown;
  readonly error: { readonly code: string; readonly message: string } | null;
}

interface Job {
  view: JobView;
}

/** Runs at most `limit` pieces of work of one kind at a time; keeps their state as jobs. */
export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly limit: number;
  private readonly kind: string;
  private running = 0;

  constructor(kind: string, limit: number) {
    this.kind = kind;
    this.limit = limit;
  }

  /**
   * Runs `work` now and resolves with its result, as the caller's own request (POST /verify): it still counts
   * against the limit. Throws API_BUSY when the limit is reached.
   */
  async runNow<T>(work: (progress: (progress: JobProgress) => void) => Promise<T>): Promise<T> {
    this.claim();
    try {
      return await work(() => undefined);
    } finally {
      this.running -= 1;
    }
  }

  /** Starts `work` as a job and answers its view at once. Throws API_BUSY when the limit is reached. */
  start(work: (progress: (progress: JobProgress) => void) => Promise<unknown>): JobView {
    this.claim();
    const job: Job = {
      view: {
        id: randomUUID(),
        kind: this.kind,
        state: 'running',
        startedAt: new Date().toISOString(),
        endedAt: null,
        progress: { done: 0, total: null },
        result: null,
        error: null,
      },
    };
    this.jobs.set(job.view.id, job);
    const report = (progress: JobProgress) => {
      if (job.view.state === 'running') job.view = { ...job.view, progress };
    };
    void work(report).then(
      (result) => this.finish(job, { state: 'done', result }),
      (error: unknown) =>
        this.finish(job, {
          state: 'failed',
          error: { code: error instanceof CdcError ? error.code : 'INTERNAL', message: errorMessage(error) },
        }),
    );
    return job.view;
  }

  get(id: string): JobView | undefined {
    return this.jobs.get(id)?.view;
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((job) => job.view);
  }

  private claim(): void {
    if (this.running >= this.limit) {
      throw new CdcError(
        'API_BUSY',
        `${this.running} ${this.kind} run${this.running === 1 ? ' is' : 's are'} already running (at most ${this.limit} at a time): try again when ${this.running === 1 ? 'it has' : 'one has'} ended`,
        { kind: this.kind, limit: this.limit },
      );
    }
    this.running += 1;
  }

  private finish(job: Job, outcome: Partial<JobView>): void {
    this.running -= 1;
    job.view = { ...job.view, ...outcome, endedAt: new Date().toISOString() };
    const finished = [...this.jobs.values()].filter((candidate) => candidate.view.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED)))
      this.jobs.delete(old.view.id);
  }
}
