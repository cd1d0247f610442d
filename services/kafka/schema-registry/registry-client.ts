/**
 * The few calls of the Confluent Schema Registry REST API the service makes (register a schema under a subject,
 * read a schema by id, read a subject's latest version, set a subject's compatibility), over `fetch`.
 *
 * Why not `@kafkajs/confluent-schema-registry`: measured against Apicurio, its `register` first reads the
 * subject's compatibility and throws unless it equals the client's own option, so a registry left at NONE (the
 * default of Apicurio) or a subject set to NONE by `onIncompatible: new-version` refuses every registration; and
 * its `getSchema` hands back an avsc type parsed its own way (our `cdc.*` properties dropped, longs as lossy
 * numbers), while we need the schema text. Its raw client is not part of its public exports. Four requests are
 * less code than working around it.
 */
import { CdcError, errorMessage } from '../../../common/errors.ts';

export interface RegistryClientOptions {
  readonly url: string;
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  readonly requestTimeoutMs: number;
}

/** A registration the subject's compatibility refused (HTTP 409), with the registry's explanation. */
export interface Incompatible {
  readonly incompatible: string;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class RegistryClient {
  readonly url: string;
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: RegistryClientOptions) {
    const parsed = new URL(options.url);
    const username = options.auth?.username ?? decodeURIComponent(parsed.username);
    const password = options.auth?.password ?? decodeURIComponent(parsed.password);
    parsed.username = '';
    parsed.password = '';
    this.base = parsed.toString().replace(/\/+$/, '');
    // Shown in messages: the URL without its credentials.
    this.url = this.base;
    this.headers = { Accept: CONTENT_TYPE, 'Content-Type': CONTENT_TYPE };
    if (username !== '')
      this.headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    this.timeoutMs = options.requestTimeoutMs;
  }

  /** Registers a schema under a subject (idempotent: an equal schema answers its existing id). */
  async register(subject: string, schema: string): Promise<number | Incompatible> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const answer = await this.request('POST', path, { schema }, `registering under subject ${subject}`);
    if (answer.status === 409) return { incompatible: messageOf(answer.body) };
    const id = (answer.body as { id?: unknown } | null)?.id;
    if (typeof id !== 'number')
      throw this.refused(answer, `registering under subject ${subject}`, { subject });
    return id;
  }

  /** The schema text of a registry id; null when the registry has no such id. */
  async schemaText(id: number): Promise<string | null> {
    const answer = await this.request('GET', `/schemas/ids/${id}`, undefined, `reading schema id ${id}`);
    if (answer.status === 404) return null;
    const schema = (answer.body as { schema?: unknown } | null)?.schema;
    if (typeof schema !== 'string') throw this.refused(answer, `reading schema id ${id}`, { schemaId: id });
    return schema;
  }

  /** The latest schema text registered under a subject; null when the subject has none. */
  async latest(subject: string): Promise<string | null> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions/latest`;
    const answer = await this.request('GET', path, undefined, `reading the latest version of ${subject}`);
    if (answer.status === 404) return null;
    const schema = (answer.body as { schema?: unknown } | null)?.schema;
    if (typeof schema !== 'string')
      throw this.refused(answer, `reading the latest version of ${subject}`, { subject });
    return schema;
  }

  /** Sets one subject's compatibility level (`PUT /config/<subject>`). */
  async setCompatibility(subject: string, level: 'NONE' | 'BACKWARD' | 'FULL'): Promise<void> {
    const path = `/config/${encodeURIComponent(subject)}`;
    await this.request('PUT', path, { compatibility: level }, `setting the compatibility of ${subject}`);
  }

  private async request(
    method: string,
    path: string,
    body: unknown,
    what: string,
  ): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: this.headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new CdcError(
        'REGISTRY_UNAVAILABLE',
        `schema registry ${this.url} unreachable while ${what}: ${causeText(error)}`,
        { registry: this.url },
        { cause: error },
      );
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    const answer = { status: response.status, body: parsed };
    if (response.status >= 500)
      throw new CdcError(
        'REGISTRY_UNAVAILABLE',
        `schema registry ${this.url} answered ${response.status} while ${what}: ${messageOf(parsed)}`,
        { registry: this.url, status: response.status },
      );
    // 404 and 409 are answers the callers interpret; any other 4xx is a refusal retrying cannot change.
    if (response.status >= 400 && response.status !== 404 && response.status !== 409)
      throw this.refused(answer, what, {});
    if (response.status === 404 && method !== 'GET') throw this.refused(answer, what, {});
    return answer;
  }

  private refused(
    answer: { status: number; body: unknown },
    what: string,
    fields: Record<string, string | number>,
  ): CdcError {
    return new CdcError(
      'REGISTRY_FAILED',
      `schema registry ${this.url} refused ${what}: HTTP ${answer.status} ${messageOf(answer.body)}`,
      { registry: this.url, status: answer.status, ...fields },
    );
  }
}

function messageOf(body: unknown): string {
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  )
    return (body as { message: string }).message;
  return typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body);
}

/** fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause. */
function causeText(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? errorMessage(error) : `${errorMessage(error)} (${errorMessage(cause)})`;
}
