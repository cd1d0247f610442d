/**
 * `CDC_LOG_LEVEL` set for `cdc run` wins over the configuration file's `logLevel`, so one run can be made
 * verbose without editing the file; a value that is no log level is refused before anything starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { logLines, startCli } from '../../support/child-process.ts';
import { createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

let source: TestDatabase;
let replica: TestDatabase;
let dir = '';
let configFile = '';

before(async () => {
  source = await createDatabase('ops_log_src');
  replica = await createDatabase('ops_log_dst');
  await source.query('CREATE TABLE t (id int PRIMARY KEY)');
  dir = await mkdtemp(join(tmpdir(), 'cdc-log-level-'));
  configFile = join(dir, 'pipeline.json');
  const name = uniqueName('ops-log').replaceAll('_', '-');
  await writeFile(
    configFile,
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
      sources: [{ name: 'src', kind: 'postgres', url: source.url, slot: uniqueName('slot') }],
      replicas: [
        { name: 'dst', source: 'src', kind: 'postgres', url: replica.url, originName: uniqueName('origin') },
      ],
      api: { port: 0 },
      logLevel: 'info',
    }),
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
  await source.drop();
  await replica.drop();
});

test('CDC_LOG_LEVEL=debug makes cdc run log at debug although the file says info', async () => {
  const cli = startCli(['run', '--config', configFile], { CDC_LOG_LEVEL: 'debug' });
  try {
    await waitFor(
      'a debug line from cdc run',
      () => logLines(cli.stdout()).some((line) => line.level === 20),
      {
        timeoutMs: 60_000,
      },
    );
  } finally {
    const exit = await cli.kill('SIGTERM');
    // A stop that timed out says why on stdout (what it waited for, or which client's socket stayed open).
    const errors = logLines(cli.stdout()).filter((line) => Number(line.level) >= 50);
    assert.equal(exit.code, 0, `${cli.stderr()}${JSON.stringify(errors)}`);
  }
});

test('an unknown CDC_LOG_LEVEL is refused naming the accepted levels', async () => {
  const cli = startCli(['run', '--config', configFile], { CDC_LOG_LEVEL: 'loud' });
  try {
    await waitFor('cdc run to refuse the level and exit', () => cli.exit() !== null, { timeoutMs: 30_000 });
  } finally {
    await cli.kill('SIGTERM');
  }
  assert.equal(cli.exit()?.code, 1);
  assert.match(
    cli.stderr(),
    /CDC_LOG_LEVEL: "loud" is not a log level \(one of fatal, error, warn, info, debug, trace, silent\)/,
  );
});
