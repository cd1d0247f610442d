/**
 * Who may call which route. Every route needs a scope: `probe` (`/health`, `/ready`: open when the
 * configuration says so, else read), `read` (every other GET) or `admin` (everything that changes or starts
 * work). A route names its scope in its `config.access` when the method alone would say otherwise. Requests
 * carry `Authorization: Bearer <token>`; an absent or unknown token is answered 401, a read token on an
 * admin route 403. Without configured tokens the API is open (the configuration only allows that on
 * loopback).
 *
 * Tokens are compared as SHA-256 digests with `timingSafeEqual`, so the time an answer takes says nothing
 * about how much of a guessed token was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CdcError } from '../../common/errors.ts';
import type { ApiConfig, ApiScope } from '../config/api.ts';

/** `public`: files holding no data (the dashboard's page, script and style), served to anyone. */
export type RouteAccess = 'public' | 'probe' | ApiScope;

/** The scope each request was let in with: `open` when the API has no tokens. */
const callers = new WeakMap<FastifyRequest, ApiScope>();
export const callerScope = (request: FastifyRequest): ApiScope | 'open' => callers.get(request) ?? 'open';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs; by default `read` for GET and HEAD, `admin` for anything else. */
    access?: RouteAccess;
  }
}

export type ApiAccess = Pick<ApiConfig, 'tokens' | 'openProbes'>;

interface KnownToken {
  readonly name: string;
  readonly scope: ApiScope;
  readonly digest: Buffer;
}

export function installAccessControl(app: FastifyInstance, access: ApiAccess): void {
  if (access.tokens.length === 0) return;
  const known: KnownToken[] = access.tokens.map((t) => ({
    name: t.name,
    scope: t.scope,
    digest: digest(t.token),
  }));
  app.addHook('onRequest', async (request, reply) => {
    const needed = neededAccess(request);
    if (needed === 'public' || (needed === 'probe' && access.openProbes)) return;
    const holder = holderOf(request, known);
    if (holder === null) {
      void reply.header('www-authenticate', 'Bearer realm="cdc"');
      throw new CdcError(
        'API_UNAUTHORIZED',
        request.headers.authorization === undefined
          ? 'this API needs a token: send "Authorization: Bearer <token>" (the CLI reads it from CDC_API_TOKEN)'
          : 'the token is not one of api.tokens',
      );
    }
    if (needed === 'admin' && holder.scope !== 'admin') {
      throw new CdcError(
        'API_FORBIDDEN',
        `${request.method} ${routeOf(request)} needs an admin token; ${JSON.stringify(holder.name)} may only read`,
        { token: holder.name },
      );
    }
    callers.set(request, holder.scope);
    if (holder.scope === 'admin' && needed === 'admin')
      request.log.info({ token: holder.name }, `${request.method} ${routeOf(request)} by ${holder.name}`);
  });
}

function neededAccess(request: FastifyRequest): RouteAccess {
  const declared = request.routeOptions.config.access;
  if (declared !== undefined) return declared;
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'admin';
}

function holderOf(request: FastifyRequest, known: readonly KnownToken[]): KnownToken | null {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (match?.[1] === undefined) return null;
  const offered = digest(match[1]);
  // Every token is compared, found or not, so the number of comparisons gives nothing away either.
  let found: KnownToken | null = null;
  for (const candidate of known) if (timingSafeEqual(candidate.digest, offered)) found ??= candidate;
  return found;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0] ?? '';
}
