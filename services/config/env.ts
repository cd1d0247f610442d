/**
 * `${NAME}` and `${NAME:-default}` references in configuration string values, expanded from the environment
 * after parsing (so a value with quotes or colons cannot break the YAML) and before validation (so the
 * schema checks the real value). `$${` is a literal `${`.
 *
 * A value that is nothing but one reference takes the type its text reads as (`port: ${API_PORT}` becomes the
 * number 8080, `origin: ${ORIGIN:-true}` a boolean), as if the variable had been written into the file.
 *
 * `${file:/absolute/path}` is the text of a file, without its final line break: secrets mounted as files
 * (Kubernetes and Docker secrets) stay out of both the configuration and the environment. It stays text.
 */
import { isAbsolute } from 'node:path';
import { readFileSync } from 'node:fs';
import { formatPath } from './path.ts';

const REFERENCE = /\$\$\{|\$\{file:([^}]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ExpansionResult {
  readonly value: unknown;
  /** One `<path>: <why>` line per variable that is not set and has no default. */
  readonly problems: readonly string[];
}

export function expandEnvironment(value: unknown, env: Environment): ExpansionResult {
  const problems: string[] = [];
  const expanded = expandValue(value, [], env, problems);
  return { value: expanded, problems };
}

function expandValue(
  value: unknown,
  path: readonly (string | number)[],
  env: Environment,
  problems: string[],
): unknown {
  if (typeof value === 'string') return expandString(value, path, env, problems);
  if (Array.isArray(value))
    return value.map((item: unknown, index) => expandValue(item, [...path, index], env, problems));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      result[key] = expandValue(item, [...path, key], env, problems);
    return result;
  }
  return value;
}

function expandString(
  text: string,
  path: readonly (string | number)[],
  env: Environment,
  problems: string[],
): unknown {
  const resolve = (name: string, fallback: string | undefined): string => {
    const found = env[name];
    // As in the shell, `:-` also replaces a variable that is set but empty.
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
    if (found === undefined) {
      problems.push(
        `${formatPath(path)}: environment variable ${name} is not set (write \${${name}:-value} to give a default)`,
      );
      return '';
    }
    return found;
  };
  const whole = WHOLE_REFERENCE.exec(text);
  if (whole) return typed(resolve(whole[1]!, whole[2]));
  return text.replace(
    REFERENCE,
    (match, file: string | undefined, name: string | undefined, fallback: string | undefined) => {
      if (file !== undefined) return readReferenced(file, path, problems);
      return name === undefined ? '${' : resolve(name, fallback);
    },
  );
}

/** The text of a `${file:...}` reference; a problem naming the field and the file when it cannot be read. */
function readReferenced(file: string, path: readonly (string | number)[], problems: string[]): string {
  if (!isAbsolute(file)) {
    problems.push(`${formatPath(path)}: \${file:${file}} must name an absolute path`);
    return '';
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${formatPath(path)}: cannot read ${file} (${reason})`);
    return '';
  }
}

/** Numbers and booleans from a whole-value reference keep their type; everything else stays text. */
function typed(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}
