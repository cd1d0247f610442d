/**
 * Structured logging (pino). Every component gets a child logger named after it; connection strings and
 * passwords are redacted wherever they appear in logged objects, and every line is scrubbed of the secrets the
 * logger was given.
 */
import { pino, type Logger } from 'pino';
import { CdcError } from './errors.ts';
import { redactText, secretForms } from './redact-text.ts';

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

/**
 * `secrets` (the configuration's passwords and tokens) are masked in every line written, as are passwords in
 * URLs: the paths above only cover fields, and a driver's error message may quote a connection string.
 * `destination` is standard output unless given (tests read the lines).
 */
export function createLogger(
  options: {
    level?: string;
    name?: string;
    secrets?: readonly string[];
    destination?: { write(line: string): unknown };
  } = {},
): Logger {
  const forms = secretForms(options.secrets ?? []);
  const destination = options.destination ?? process.stdout;
  return pino(
    {
      name: options.name ?? 'cdc',
      level: options.level ?? process.env.CDC_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    { write: (line: string) => destination.write(redactText(line, forms)) },
  );
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
