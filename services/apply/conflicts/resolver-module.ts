/**
 * Loads a custom resolver: a user module whose default export is a `Resolver` (types.ts). Loaded once at
 * start-up, so a wrong path or a module without a resolver stops the worker before it applies anything.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CdcError } from '../../../common/errors.ts';
import type { Resolver } from './types.ts';

export async function loadResolver(path: string): Promise<Resolver> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (error) {
    throw new CdcError(
      'CONFIG_INVALID',
      `conflicts.resolver: cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { path },
      { cause: error },
    );
  }
  const resolver = module.default;
  if (typeof resolver !== 'function' || resolver.length > 1)
    throw new CdcError(
      'CONFIG_INVALID',
      `conflicts.resolver: ${path} must export as default a function (conflict: Conflict) => Resolution`,
      { path },
    );
  return resolver as Resolver;
}
