/**
 * Keeping secrets out of logs and API answers. `redactConfig` is the configuration as it may be displayed;
 * `collectSecrets` lists the secret values a configuration holds, so any text (an error message from a
 * driver, say) can be scrubbed of them with `redactText`.
 */
import { redactUrl } from '../../common/logger.ts';
import { MASK, redactText } from '../../common/redact-text.ts';

export { redactText };
import type { PipelineConfig } from './schema.ts';

const SECRET_KEY = /password|secret|token|credential/i;
const URL_KEY = /^url$|Url$/;

export function redactConfig(config: PipelineConfig): PipelineConfig {
  return redactValue(config, '') as PipelineConfig;
}

function redactValue(value: unknown, key: string): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return MASK;
    if (URL_KEY.test(key)) return redactUrl(value);
    return value;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => redactValue(item, key));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(value))
      result[childKey] = redactValue(child, fieldName(key, childKey));
    return result;
  }
  return value;
}

/** Every password found in the configuration's URLs and secret-named fields, both raw and URL-decoded. */
export function collectSecrets(config: PipelineConfig): string[] {
  const secrets = new Set<string>();
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (SECRET_KEY.test(key) && value !== '') secrets.add(value);
      if (URL_KEY.test(key)) {
        const password = passwordOf(value);
        if (password !== null) {
          secrets.add(password);
          secrets.add(safeDecode(password));
        }
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, key);
    } else if (value !== null && typeof value === 'object') {
      for (const [childKey, child] of Object.entries(value)) visit(child, fieldName(key, childKey));
    }
  };
  visit(config, '');
  return [...secrets];
}

/**
 * The keys of a source's `columns.<table>.mask` are the user's column names, not fields of ours: a column
 * named `password` masked with `redact` holds no secret, and taking `redact` for one would scrub that word
 * from every log line.
 */
function fieldName(parent: string, key: string): string {
  return parent === 'mask' ? '' : key;
}

function passwordOf(url: string): string | null {
  try {
    const password = new URL(url).password;
    return password === '' ? null : password;
  } catch {
    return /:\/\/[^:/@]+:([^@]+)@/.exec(url)?.[1] ?? null;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
