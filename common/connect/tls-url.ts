/**
 * TLS settings carried as query parameters of a database URL, read the same way for every database: which
 * parameter names a mode, which name files, and what is wrong with them. The database-specific meaning of
 * each mode lives in postgres-url.ts and mysql-url.ts.
 */
import { pemProblem } from './pem-files.ts';

/** A TLS parameter of a URL that cannot work, named as the user wrote it. */
export interface UrlTlsProblem {
  readonly parameter: string;
  readonly message: string;
}

export interface TlsParameterNames<Mode extends string> {
  readonly mode: string;
  readonly modes: readonly Mode[];
  /** Modes refused, with why (a fallback to an unencrypted connection). */
  readonly refused: Readonly<Record<string, string>>;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A value of the authority parameter that names no file (libpq's `system`). */
  readonly caKeyword?: string;
  /** Normalizes a written mode (MySQL's are case-insensitive). */
  readonly normalize: (mode: string) => string;
}

export interface UrlTls<Mode extends string> {
  /** null: the URL asks for no TLS (the driver's default, a plain connection). */
  readonly mode: Mode | null;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/**
 * The URL's TLS settings, and everything wrong with them; with `checkFiles` (validation at start-up) also
 * whether each file named can be read as PEM.
 */
export function readUrlTls<Mode extends string>(
  url: URL,
  names: TlsParameterNames<Mode>,
  checkFiles = false,
): { tls: UrlTls<Mode>; problems: UrlTlsProblem[] } {
  const problems: UrlTlsProblem[] = [];
  const param = (name: string): string | undefined => url.searchParams.get(name) ?? undefined;
  const written = param(names.mode);
  let mode: Mode | null = null;
  if (written !== undefined) {
    const normalized = names.normalize(written);
    const refusal = names.refused[normalized];
    if (refusal !== undefined) problems.push({ parameter: names.mode, message: refusal });
    else if ((names.modes as readonly string[]).includes(normalized)) mode = normalized as Mode;
    else
      problems.push({
        parameter: names.mode,
        message: `must be one of ${names.modes.join(', ')}, not ${JSON.stringify(written)}`,
      });
  }
  const files = { ca: param(names.ca), cert: param(names.cert), key: param(names.key) };
  for (const [field, path] of Object.entries(files)) {
    const parameter = names[field as 'ca' | 'cert' | 'key'];
    if (path === undefined || (field === 'ca' && path === names.caKeyword)) continue;
    if (written === undefined)
      problems.push({ parameter, message: `needs ${names.mode} (the file is used only with TLS on)` });
    const problem = checkFiles ? pemProblem(path) : null;
    if (problem !== null) problems.push({ parameter, message: problem });
  }
  if (files.cert !== undefined && files.key === undefined)
    problems.push({ parameter: names.key, message: `is required when ${names.cert} is set` });
  if (files.key !== undefined && files.cert === undefined)
    problems.push({ parameter: names.cert, message: `is required when ${names.key} is set` });
  return { tls: { mode, ...files }, problems };
}

/** The URL without the TLS parameters, for a driver that must not read them itself. */
export function withoutParameters(url: URL, names: readonly string[]): string {
  const copy = new URL(url.href);
  for (const name of names) copy.searchParams.delete(name);
  return copy.href;
}
