/** The problems a configuration is refused with, one `<path>: <why>` line each, as `cdc validate` lists them. */
import assert from 'node:assert/strict';
import { CdcError } from '../../common/errors.ts';
import { parseConfig } from '../../services/config/load.ts';

export function configProblems(json: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(json, 'json', { env });
  } catch (error) {
    assert.ok(error instanceof CdcError, `expected a CdcError, got ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.message
      .split('\n')
      .slice(1)
      .map((line) => line.replace(/^ {2}- /, ''));
  }
  assert.fail('the configuration was accepted');
}
