/**
 * Turns zod issues into the lines users read: `<exact.path>: <why>`, one per problem. The error map phrases
 * the generic cases (missing field, wrong type, value not in a list); messages written in the schema itself
 * take precedence over it. Values are quoted only for enums and discriminators, never for free text, which
 * may hold a secret.
 */
import type { z } from 'zod';
import { formatPath } from './path.ts';

type RawIssue = z.core.$ZodRawIssue;

export const configErrorMap = (issue: RawIssue): string | undefined => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${describeExpected(issue.expected)}, not ${describeInput(issue.input)}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, not ${JSON.stringify(issue.input)}`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown }).options;
      if (Array.isArray(options)) {
        const input = issue.input;
        const kind =
          input !== null && typeof input === 'object' ? (input as Record<string, unknown>).kind : undefined;
        const choices = options.map((o) => JSON.stringify(o)).join(' or ');
        return kind === undefined
          ? `is required (one of ${choices})`
          : `must be ${choices}, not ${JSON.stringify(kind)}`;
      }
      return undefined;
    }
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${String(issue.minimum)}`;
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1
          ? 'must not be empty'
          : `must be at least ${String(issue.minimum)} characters`;
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`;
    case 'invalid_key': {
      // A record key that fails its own schema: that schema's message says what the key must look like.
      return (issue as { issues?: readonly { message?: string }[] }).issues?.[0]?.message;
    }
    case 'custom':
    case 'invalid_element':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'unrecognized_keys':
      return undefined;
  }
};

function describeExpected(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'boolean':
      return 'true or false';
    default:
      return `a ${expected}`;
  }
}

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return 'text';
  if (typeof input === 'number' || typeof input === 'boolean' || typeof input === 'bigint')
    return `${typeof input} ${input}`;
  return typeof input;
}

/** One line per problem; unknown keys get a line each, with the key in the path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        lines.push(
          `${formatPath([...issue.path, key])}: unknown key (check its spelling and where it is nested)`,
        );
    } else {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}
