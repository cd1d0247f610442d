/**
 * Failure scenarios: `cdc run` with a source database, or a Kafka cluster, that cannot be reached. These are
 * retriable: the process keeps running and retrying, and the status API shows a clear error naming what cannot
 * be reached (which source or topic, and the address); SIGTERM still stops it cleanly.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deleteKafkaState } from '../../support/changelog.ts';
import { apiUrlOf, logLines, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import { createDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

interface StatusAnswer {
  readonly connectors: readonly { name: string; state: string; lastError: string | null }[];
  readonly workers: readonly { name: string; state: string; lastError: string | null }[];
}

/** A loopback port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function status(apiUrl: string): Promise<StatusAnswer> {
  const response = await fetch(`${apiUrl}/status`);
  return (await response.json()) as StatusAnswer;
}

function retries(child: CliProcess): number {
  return logLines(child.stdout()).filter((entry) => entry.msg === 'task failed; retrying').length;
}

async function runUntilStopped(
  config: object,
  check: (child: CliProcess, apiUrl: string) => Promise<void>,
): Promise<void> {
  const file = join(tmpdir(), `${uniqueName('unreachable')}.json`);
  await writeFile(file, JSON.stringify(config));
  const child = startCli(['run', '--config', file]);
  try {
    await check(child, await apiUrlOf(child));
    const exit = await child.kill('SIGTERM', 120_000);
    assert.equal(exit.code, 0, `a clean stop after SIGTERM; output ends with:\n${child.stderr()}`);
  } finally {
    await child.kill('SIGKILL');
    await rm(file, { force: true });
  }
}

test('an unreachable source database: the status names the source and its address, and capture keeps retrying', async () => {
  const port = await closedPort();
  const name = uniqueName('unreach-src').replaceAll('_', '-');
  try {
    await runUntilStopped(
      {
        name,
        kafka: { brokers: stack.kafkaBrokers, topicPrefix: name },
        sources: [{ name: 'orders', kind: 'postgres', url: `postgres://cdc:s3cret@127.0.0.1:${port}/shop` }],
        api: { port: 0 },
      },
      async (child, apiUrl) => {
        const expected = `cannot connect to source orders (database "shop" at 127.0.0.1:${port})`;
        const seen = await whileAlive(
          child,
          'capture with an unreachable source',
          waitFor(
            'the status to show why the source cannot be reached',
            async () => {
              const connector = (await status(apiUrl)).connectors[0];
              return connector?.lastError?.includes(expected) === true && connector.state === 'reconnecting'
                ? connector
                : null;
            },
            { timeoutMs: 120_000, intervalMs: 200 },
          ),
        );
        assert.ok(!JSON.stringify(seen).includes('s3cret'), 'no password in the status');
        const ready = await fetch(`${apiUrl}/ready`);
        assert.equal(ready.status, 503);
        assert.match(
          await ready.text(),
          new RegExp(`connector orders is (reconnecting|starting).*127\\.0\\.0\\.1:${port}`),
        );
        // Retriable: it keeps trying rather than exiting.
        await whileAlive(
          child,
          'capture retrying',
          waitFor('three retries', () => retries(child) >= 3, { timeoutMs: 120_000 }),
        );
      },
    );
  } finally {
    await deleteKafkaState(
      [`${name}.orders.changes`, `${name}.orders.dlq`, `${name}._schemas`],
      [],
      `${name}.`,
    );
  }
});

test('an unreachable Kafka: the status names the broker address and topic, and both tasks keep retrying', async () => {
  const port = await closedPort();
  const name = uniqueName('unreach-kafka').replaceAll('_', '-');
  const source = await createDatabase('unreach_src');
  const replica = await createDatabase('unreach_dst');
  try {
    await runUntilStopped(
      {
        name,
        kafka: { brokers: [`127.0.0.1:${port}`], topicPrefix: name },
        sources: [{ name: 'orders', kind: 'postgres', url: source.url, slot: uniqueName('slot') }],
        replicas: [{ name: 'copy', source: 'orders', kind: 'postgres', url: replica.url }],
        api: { port: 0 },
      },
      async (child, apiUrl) => {
        const broker = `127.0.0.1:${port}`;
        await whileAlive(
          child,
          'pipeline with an unreachable Kafka',
          waitFor(
            `the status of capture and apply to name the broker ${broker} and the changelog topic`,
            async () => {
              const answer = await status(apiUrl);
              const errors = [answer.connectors[0]?.lastError, answer.workers[0]?.lastError];
              return errors.every(
                (error) => error?.includes(broker) === true && error.includes(`${name}.orders.changes`),
              )
                ? answer
                : null;
            },
            { timeoutMs: 180_000, intervalMs: 500 },
          ),
        );
        const answer = await status(apiUrl);
        assert.notEqual(answer.connectors[0]?.state, 'failed', 'capture is not given up');
        assert.notEqual(answer.workers[0]?.state, 'failed', 'apply is not given up');
        const logged = logLines(child.stdout()).filter(
          (entry) => entry.level === 50 && JSON.stringify(entry).includes(broker),
        );
        assert.ok(logged.length > 0, 'the log has errors naming the broker');
        await whileAlive(
          child,
          'pipeline retrying',
          waitFor('three retries', () => retries(child) >= 3, { timeoutMs: 180_000 }),
        );
      },
    );
  } finally {
    await source.drop();
    await replica.drop();
  }
});
