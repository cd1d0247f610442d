/**
 * The control API's section of the configuration: where it listens and who may call it. Tokens are bearer
 * tokens with a scope: `read` for probes, status, metrics, configuration, dead-letter and conflict listings,
 * `admin` for everything that changes or starts work (snapshots, verify, pause and resume, dead-letter
 * replay) and everything `read` may do. Without tokens the API is open, which is only allowed on a loopback
 * address: anything else would hand the control of the pipeline to whoever reaches the port.
 */
import { z } from 'zod';
import { pemProblem } from '../../common/connect/pem-files.ts';

export const API_SCOPES = ['read', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Shorter tokens are refused: a bearer token is a password that is never typed, so nothing excuses a weak one. */
export const MIN_TOKEN_LENGTH = 16;

const token = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, { error: 'must use only letters, digits, "_", "." and "-"' })
    .meta({
      description: 'Who holds the token; logged with each refused or admin request, never the token.',
    }),
  token: z
    .string()
    .min(MIN_TOKEN_LENGTH, { error: `must be at least ${MIN_TOKEN_LENGTH} characters` })
    .regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII without spaces' })
    .meta({
      description:
        'The bearer token, sent as `Authorization: Bearer <token>`. Write it as `${VARIABLE}` so it stays out of the file; `openssl rand -hex 32` makes a good one.',
    }),
  scope: z.enum(API_SCOPES).meta({ description: '`read` or `admin` (admin may also read).' }),
});

export const apiSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1').meta({ description: 'Address the control API listens on.' }),
    port: z
      .int({ error: 'must be a port number from 0 to 65535' })
      .min(0, { error: 'must be a port number from 0 to 65535' })
      .max(65_535, { error: 'must be a port number from 0 to 65535' })
      .default(8080)
      .meta({ description: 'Port of the control API (0 picks a free one).' }),
    tokens: z.array(token).default([]).meta({
      description:
        'Bearer tokens allowed to call the API, each with a scope. With none, the API is open and must listen on a loopback address.',
    }),
    openProbes: z.boolean().default(true).meta({
      description:
        '`/health` and `/ready` answer without a token, for load balancers and orchestrators that cannot send one.',
    }),
    tls: z
      .strictObject({
        certFile: z.string().min(1).meta({
          description: 'PEM file of the certificate the API presents (with its chain).',
        }),
        keyFile: z.string().min(1).meta({ description: 'PEM file of its private key (not encrypted).' }),
      })
      .optional()
      .meta({
        description:
          'Serve the API over HTTPS. The CLI trusts an authority of your own through `NODE_EXTRA_CA_CERTS`.',
      }),
    verifyConcurrency: z
      .int({ error: 'must be a whole number from 1 to 16' })
      .min(1, { error: 'must be a whole number from 1 to 16' })
      .max(16, { error: 'must be a whole number from 1 to 16' })
      .default(1)
      .meta({
        description:
          'Most `POST /verify` comparisons running at once in this process; one more is answered 429. Each reads whole tables on the source and the replica.',
      }),
    waitConcurrency: z
      .int({ error: 'must be a whole number from 1 to 10000' })
      .min(1, { error: 'must be a whole number from 1 to 10000' })
      .max(10_000, { error: 'must be a whole number from 1 to 10000' })
      .default(256)
      .meta({
        description:
          'Most read-your-writes waits (`GET /replicas/:name/wait`) open at once in this process; one more is answered 429. Each holds a request open for up to its `timeoutMs`.',
      }),
  })
  .superRefine((api, ctx) => {
    for (const field of ['certFile', 'keyFile'] as const) {
      const path = api.tls?.[field];
      const problem = path === undefined ? null : pemProblem(path);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['tls', field], message: problem });
    }
    if (api.tokens.length === 0 && !isLoopback(api.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message: `${JSON.stringify(api.host)} is not a loopback address, and an API without tokens lets whoever reaches it pause, snapshot and replay: list api.tokens, or listen on 127.0.0.1`,
      });
    }
    const seen = new Map<string, number>();
    api.tokens.forEach((entry, index) => {
      const earlier = seen.get(entry.token);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tokens', index, 'token'],
          message: `is the same as api.tokens[${earlier}].token: each holder needs a token of its own`,
        });
      } else seen.set(entry.token, index);
    });
  });

export type ApiConfig = z.output<typeof apiSchema>;

/** Loopback as a listen address: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}
