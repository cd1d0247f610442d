/**
 * Restarting a server of the shared local stack from a test (`stack/restart-service.sh`), for failure
 * scenarios. Other tests use the same servers at the same time: a test restarts a server at most once per run.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './child-process.ts';

const run = promisify(execFile);

export type StackService = 'kafka' | 'postgres' | 'mariadb';

/** Stops and starts `service`, resolving once it answers again; returns what the script printed. */
export async function restartService(service: StackService): Promise<string> {
  const { stdout, stderr } = await run('bash', ['stack/restart-service.sh', service], {
    cwd: REPO_ROOT,
    timeout: 300_000,
    maxBuffer: 10_000_000,
  });
  return `${stdout}${stderr}`;
}
