/**
 * What every server a test starts for itself needs (test/support/throwaway-postgres.ts, tls-mariadb.ts): a
 * free loopback port, a folder of its own naming the test process that owns it, and the sweep that stops and
 * deletes the folders of test processes killed before they could clean up.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const AS_ROOT = process.getuid?.() === 0;

/** A loopback port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A new folder `<base>/<prefix><random>` owned by this process, after stopping (`stopServer(folder)`) and
 * deleting the folders of that prefix whose test process is gone.
 */
export async function ownedFolder(
  base: string,
  prefix: string,
  stopServer: (folder: string) => Promise<void>,
): Promise<string> {
  const names = (await readdir(base).catch(() => [])).filter((name) => name.startsWith(prefix));
  for (const name of names) {
    const folder = join(base, name);
    const owner = Number((await readFile(join(folder, 'owner'), 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    await stopServer(folder).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
  }
  const folder = join(base, `${prefix}${randomBytes(4).toString('hex')}`);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await writeFile(join(folder, 'owner'), `${process.pid}\n`);
  return folder;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
