/**
 * A URL field of the configuration: parsed, its scheme among those allowed, then any further check of the
 * caller's (a certificate file that must exist, no query string). Messages name what is wrong without echoing
 * the URL, which may hold a password.
 */
import { z } from 'zod';

export interface UrlFieldOptions {
  readonly schemes: readonly string[];
  /** Shown when the text is not a URL at all: `must be a URL like <example>`. */
  readonly example: string;
  /** Further problems of a URL with an allowed scheme, each a message. */
  readonly problems?: (parsed: URL, scheme: string, value: string) => readonly string[];
}

export function urlField(options: UrlFieldOptions) {
  return z
    .string()
    .min(1, { error: 'must not be empty' })
    .superRefine((value, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a URL like ${options.example}` });
        return;
      }
      const scheme = parsed.protocol.replace(/:$/, '');
      if (!options.schemes.includes(scheme)) {
        ctx.addIssue({
          code: 'custom',
          message: `must use scheme ${options.schemes.join(' or ')}, not ${JSON.stringify(scheme)}`,
        });
        return;
      }
      for (const message of options.problems?.(parsed, scheme, value) ?? [])
        ctx.addIssue({ code: 'custom', message });
    });
}
