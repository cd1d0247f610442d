/**
 * Structured logging (pino). Every component gets a child logger named after it; connection strings and
 * passwords are redacted wherever they appear in logged objects.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'password',
  '*.password',
  'url',
  '*.url',
  '*.*.url',
  'connectionString',
  '*.connectionString',
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'cdc',
    level: options.level ?? process.env.CDC_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}

/** Replaces the password in a connection URL with `***`, for messages and the API. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
  }
}

/** A logger that discards everything, for library users that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
