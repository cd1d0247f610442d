/** Scrubbing secrets out of free text: error messages, log lines, API answers. */

export const MASK = '***';

/**
 * Masks URL passwords (`scheme://user:secret@`), `password=...` pairs (libpq connection strings) and each of
 * the given secret values wherever they appear in free text.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  // Character classes stop at quotes, slashes and whitespace so that masking inside serialized JSON never
  // runs across into the next field.
  let result = text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"']+:)[^@\s/"']+@/gi, `$1${MASK}@`)
    .replace(/\b(password|pwd)=('[^']*'|[^\s'"&;,)]+)/gi, `$1=${MASK}`);
  // Longest first, so a secret that contains another is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 3) result = result.replaceAll(secret, MASK);
  }
  return result;
}

/**
 * The forms a secret takes in a JSON text (a log line): as it is, and with JSON's escapes, so a password
 * holding a quote or a backslash is found in the line too.
 */
export function secretForms(secrets: readonly string[]): string[] {
  return [...new Set(secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]))];
}
