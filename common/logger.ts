/**
 * Structured logging (pino). Every component gets a child logger named after it; connection strings and
 * passwords are redacted wherever they appear in logged objects.
 */
import { pino, type Logger } from 'pino';
import { CdcError } from './errors.ts';

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

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level a command logs at: `CDC_LOG_LEVEL` when set, else the configured level, else info. The
 * environment wins over the configuration file so one run can be made verbose (or quiet) without editing the
 * file. An unknown value is refused with the accepted ones rather than ignored.
 */
export function logLevel(configured?: LogLevel, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromEnv = env.CDC_LOG_LEVEL?.trim();
  if (fromEnv === undefined || fromEnv === '') return configured ?? 'info';
  const level = LOG_LEVELS.find((candidate) => candidate === fromEnv.toLowerCase());
  if (level === undefined) {
    throw new CdcError(
      'CONFIG_INVALID',
      `CDC_LOG_LEVEL: ${JSON.stringify(fromEnv)} is not a log level (one of ${LOG_LEVELS.join(', ')})`,
      { variable: 'CDC_LOG_LEVEL' },
    );
  }
  return level;
}

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
