/**
 * `GET /ui`: the operator's dashboard, three static files from services/api/ui (no build step, nothing from a
 * CDN). The files hold no data, so they are served to anyone (`public`); the page then asks for a token and
 * reads everything through `/events` and the admin routes, under the same access rules as any client. A strict
 * Content-Security-Policy allows only these files and calls to this API, a second line behind the page's own
 * rule of writing names with textContent only.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';

const FILES = {
  '/ui': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
} as const;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function uiRoutes() {
  const register: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    for (const [path, { file, type }] of Object.entries(FILES)) {
      // Read at start-up: a missing file fails the start, not a request.
      const body = readFileSync(new URL(`../ui/${file}`, import.meta.url), 'utf8');
      app.get(path, { schema: { hide: true }, config: { access: 'public' } }, (_request, reply) =>
        reply
          .type(type)
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-cache')
          .send(body),
      );
    }
    done();
  };
  return register;
}
