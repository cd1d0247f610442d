/**
 * The CLI's client of the control API: JSON over fetch, with the API's `{ error: { code, message } }`
 * answers and connection failures turned into errors that say what went wrong and where. The token of an API
 * behind `api.tokens` comes from `CDC_API_TOKEN` (an environment variable rather than an option, so it never
 * shows in the process list).
 */
import { CdcError, errorMessage } from '../../common/errors.ts';
import type { DeadLetterPage, ReplayProgress } from '../dlq/dlq-control.ts';
import type { ConflictPage } from '../pipeline/conflict-list.ts';
import type { StatusResponse } from './status-format.ts';

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;

  /** `token` is sent as a bearer token; by default the environment's `CDC_API_TOKEN`, when set. */
  constructor(baseUrl: string, token: string | undefined = process.env.CDC_API_TOKEN) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#token = token === '' ? undefined : token;
  }

  status(): Promise<StatusResponse> {
    return this.request<StatusResponse>('GET', '/status');
  }

  requestSnapshot(source: string, tables: readonly string[]): Promise<{ source: string; tables: string[] }> {
    return this.request('POST', '/snapshots', tables.length > 0 ? { source, tables } : { source });
  }

  /** A page of a replica's dead letters (GET /dlq). */
  deadLetters(query: {
    readonly replica?: string;
    readonly table?: string;
    readonly from?: string;
    readonly limit?: number;
  }): Promise<DeadLetterPage> {
    return this.request('GET', `/dlq${searchOf(query)}`);
  }

  /** A page of the conflicts recorded by the pipeline's replicas (GET /conflicts). */
  conflicts(query: Readonly<Record<string, string | number | undefined>>): Promise<ConflictPage> {
    return this.request('GET', `/conflicts${searchOf(query)}`);
  }

  /** Starts replaying a replica's dead letters, or answers the replay already running. */
  replayDeadLetters(replica?: string): Promise<ReplayProgress> {
    return this.request('POST', '/dlq/replay', replica === undefined ? {} : { replica });
  }

  replayProgress(replica?: string): Promise<ReplayProgress> {
    const search = replica === undefined ? '' : `?replica=${encodeURIComponent(replica)}`;
    return this.request('GET', `/dlq/replay${search}`);
  }

  /** Pauses or resumes a connector or apply worker; answers its status afterwards. */
  setPaused(
    kind: 'connector' | 'worker',
    name: string,
    paused: boolean,
  ): Promise<{ readonly name: string; readonly state: string }> {
    const path = `/${kind === 'connector' ? 'connectors' : 'workers'}/${encodeURIComponent(name)}`;
    return this.request('POST', `${path}/${paused ? 'pause' : 'resume'}`);
  }

  /** Re-snapshots a PostgreSQL source from a new slot (POST /connectors/:name/resnapshot). */
  resnapshot(source: string): Promise<{ readonly name: string; readonly state: string }> {
    return this.request('POST', `/connectors/${encodeURIComponent(source)}/resnapshot`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new CdcError(
        'API_REQUEST_FAILED',
        `cannot reach the control API at ${url}: ${errorMessage(cause)}`,
        { url },
        { cause: error },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new CdcError(
        'API_REQUEST_FAILED',
        `${method} ${url} answered ${response.status}: ${describeFailure(text)}`,
        {
          url,
          status: response.status,
        },
      );
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new CdcError(
        'API_REQUEST_FAILED',
        `${method} ${url} answered something that is not JSON`,
        { url },
        { cause: error },
      );
    }
  }
}

function searchOf(query: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  return params.size > 0 ? `?${params.toString()}` : '';
}

function describeFailure(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.message === 'string')
      return `${String(parsed.error.code)}: ${parsed.error.message}`;
  } catch {
    // Not the API's error shape (a proxy's HTML page, say): show the start of it as it is.
  }
  return text.slice(0, 200);
}
