// README's first command must work from any folder a user clones into. As root the stack runs PostgreSQL as
// the `postgres` OS user, which cannot enter a checkout below a folder closed to others (/root, a mode-700
// `mktemp -d`): its folders must live where that user can reach them, one set per checkout. This copies the
// stack scripts into such a folder and runs the real scripts against a PostgreSQL of their own on a free
// port (never the shared stack's), then stops and wipes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { REPO_ROOT } from '../../support/child-process.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** The environment of a user who has only cloned: none of the shared stack's addresses or locks. */
function cleanEnv(port: number): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CDC_')));
  return { ...env, CDC_PG_PORT: String(port) };
}

/** A checkout as far as the stack scripts go: stack/ without any state of the original's. */
function copyCheckout(parent: string, name: string): string {
  const checkout = join(parent, name);
  cpSync(join(REPO_ROOT, 'stack'), join(checkout, 'stack'), {
    recursive: true,
    filter: (source) => !['.data', '.run', '.cache'].includes(basename(source)),
  });
  return checkout;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stackScript(checkout: string, port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('bash', args, { cwd: checkout, env: cleanEnv(port), timeout: 180_000 });
  return stdout;
}

/** A folder named by the copy's stack/env.sh. */
async function envFolder(checkout: string, port: number, variable: string): Promise<string> {
  return stackScript(checkout, port, '-c', `. stack/env.sh && printf %s "$${variable}"`);
}

async function postgresUserCan(test: string, path: string): Promise<boolean> {
  try {
    await run('runuser', ['-u', 'postgres', '--', 'test', test, path], { cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

async function query(port: number, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'cdc_source' });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

void describe(
  'the stack from a checkout below a folder closed to others',
  { skip: !isRoot && 'as another user than root PostgreSQL runs as that user, within the checkout' },
  () => {
    let closed: string;
    let checkout: string;
    let port: number;

    before(async () => {
      closed = mkdtempSync(join(tmpdir(), 'cdc-checkout-'));
      assert.equal(statSync(closed).mode & 0o777, 0o700);
      checkout = copyCheckout(closed, 'clone');
      port = await freePort();
    });
    after(async () => {
      // Whatever happened above: stop what this test started and drop its data.
      if (existsSync(join(checkout, 'stack'))) await stackScript(checkout, port, 'stack/down.sh', '--wipe');
      rmSync(closed, { recursive: true, force: true });
    });

    void test('PostgreSQL starts, keeps its data in a folder of the postgres user, restarts and is wiped', async () => {
      assert.equal(
        await postgresUserCan('-x', checkout),
        false,
        'the postgres user must not reach the checkout',
      );
      const dataFolder = await envFolder(checkout, port, 'CDC_PG_DATA');
      assert.ok(!dataFolder.startsWith(closed), `${dataFolder} lies in the closed folder`);

      await stackScript(checkout, port, 'stack/restart-service.sh', 'postgres');
      assert.deepEqual(await query(port, 'SHOW data_directory'), [{ data_directory: dataFolder }]);
      assert.equal(await postgresUserCan('-w', dataFolder), true);
      assert.equal(statSync(dataFolder).mode & 0o077, 0, 'the data folder is closed to others');
      await query(port, 'CREATE TABLE kept AS SELECT 42 AS answer');

      await stackScript(checkout, port, 'stack/restart-service.sh', 'postgres');
      assert.deepEqual(await query(port, 'SELECT answer FROM kept'), [{ answer: 42 }]);

      await stackScript(checkout, port, 'stack/down.sh', '--wipe');
      assert.equal(await portAnswers(port), false);
      assert.equal(existsSync(dataFolder), false, `${dataFolder} is left after down.sh --wipe`);
    });

    void test('two checkouts never share a PostgreSQL folder', async () => {
      const other = copyCheckout(closed, 'second-clone');
      const folders = await Promise.all(
        [checkout, other].map((root) => envFolder(root, port, 'CDC_STACK_PG_DIR')),
      );
      assert.notEqual(folders[0], folders[1]);
      assert.ok(folders.every((folder) => folder !== ''));
    });
  },
);
