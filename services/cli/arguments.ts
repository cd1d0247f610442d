/** Parsers of command-line option values, shared by the commands: commander reports what they throw as usage errors. */
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

export function nonNegativeInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('must be zero or a positive integer');
  return parsed;
}
