/**
 * Synchronous capture on a PostgreSQL cluster of the test's own (its synchronous_standby_names is changed, which
 * must not touch the stack's): with the capture named in synchronous_standby_names, every source commit returns
 * only once its change is committed in Kafka (the event's offset is below the topic's end read right after the
 * commit returned); while the capture is paused a commit waits, /status says so, and it returns once capture
 * resumes; a session that sets synchronous_commit = local goes through without it. Before the server names the
 * capture, /status warns that commits do not wait. A capture that starts while the server already names it (a
 * restart, a new publication to create) does not wait for itself.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../../services/config/load.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { readChangelog, topicEnd } from '../../support/changelog.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../support/throwaway-postgres.ts';
import { waitFor } from '../../support/wait.ts';
import { pipelineName } from './support.ts';

const DATABASE = 'sync_src';
let server: ThrowawayPostgres;
let pipeline: RunningPipeline | null = null;

before(async () => {
  server = await startThrowawayPostgres({ prefix: 'cdc-sync-' });
  await server.query(`CREATE DATABASE ${DATABASE}`);
  await server.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)', [], DATABASE);
});

after(async () => {
  await pipeline?.stop();
  await server.stop();
});

const insert = (id: number, settings = '') =>
  server.query(`${settings}INSERT INTO items VALUES (${id}, 'row ${id}')`, [], DATABASE);

function connector() {
  const status = pipeline?.connectors().find((c) => c.name === 'src');
  assert.ok(status, 'the pipeline shows connector src');
  return status;
}

const syncWarnings = () => (connector().warnings ?? []).filter((w) => w.includes('synchronous'));

/** A pipeline capturing the test's database as source `src` (application_name "cdc:src"), synchronous. */
function startSynchronous(name: string, settings: Record<string, unknown>): Promise<RunningPipeline> {
  const source = {
    name: 'src',
    kind: 'postgres',
    url: server.url(DATABASE),
    slot: uniqueName('sync'),
    synchronous: true,
    ...settings,
  };
  const config = parseConfig(
    JSON.stringify({ name, kafka: { brokers: stack.kafkaBrokers, topicPrefix: name }, sources: [source] }),
    'json',
  );
  return startPipeline(config, pino({ level: 'warn' }), { api: false });
}

test('each source commit returns once its change is committed in Kafka; a paused capture holds commits', async () => {
  const name = pipelineName('ops-sync');
  const changelog = connectorTopics(name, 'src').changelog;
  pipeline = await startSynchronous(name, { heartbeatIntervalMs: 500 });

  // Not named yet: the capture streams, and says that commits do not wait for it.
  await waitFor('the capture to stream and report the synchronous state', () =>
    Promise.resolve(connector().state === 'streaming' && connector().synchronous !== undefined),
  );
  assert.equal(connector().synchronous?.named, false);
  assert.match(syncWarnings()[0] ?? '', /source commits do not wait for it: .*"cdc:src"/);

  await server.query(`ALTER SYSTEM SET synchronous_standby_names = '"cdc:src"'`);
  await server.query('SELECT pg_reload_conf()');
  await waitFor('the capture to be the synchronous standby', () =>
    Promise.resolve(connector().synchronous?.syncState === 'sync' && syncWarnings().length === 0),
  );

  // Each commit returns only after its Kafka transaction committed: its event lies below the end read then.
  const endAfterCommit = new Map<number, bigint>();
  for (let id = 1; id <= 20; id++) {
    await insert(id);
    endAfterCommit.set(id, await topicEnd(changelog));
  }

  // Paused, the capture confirms nothing: a commit waits, and /status names it.
  await pipeline.setPaused?.('connector', 'src', true);
  let returned = false;
  const held = insert(100).then(() => {
    returned = true;
  });
  await waitFor('the commit to wait for the paused capture, and /status to say so', () =>
    Promise.resolve(
      connector().synchronous?.waitingCommits === 1 &&
        syncWarnings().some((w) => /1 source commit\(s\) are waiting for the capture "cdc:src"/.test(w)),
    ),
  );
  assert.equal(returned, false, 'a commit returned while the capture was paused');
  // The documented way around a capture that is down: a session that does not wait.
  await insert(101, 'SET synchronous_commit = local; ');
  assert.equal(returned, false, 'the waiting commit returned before the capture resumed');

  await pipeline.setPaused?.('connector', 'src', false);
  await held;
  endAfterCommit.set(100, await topicEnd(changelog));

  await pipeline.stop();
  pipeline = null;
  const events = await readChangelog(name, changelog);
  const offsets = new Map<number, bigint[]>();
  for (const { event, offset } of events) {
    if (event.op !== 'c') continue;
    const id = Number(event.after.id);
    offsets.set(id, [...(offsets.get(id) ?? []), BigInt(offset)]);
  }
  for (const id of [...endAfterCommit.keys(), 101]) {
    assert.equal(offsets.get(id)?.length, 1, `row ${id} is in the changelog once`);
  }
  for (const [id, end] of endAfterCommit) {
    const offset = offsets.get(id)?.[0] ?? -1n;
    assert.ok(
      offset < end,
      `row ${id} at offset ${offset} was in Kafka when its commit returned (end ${end})`,
    );
  }
});

test('a capture started while the server names it creates its publication without waiting for itself', async () => {
  // Left by the test above, as after a restart of a synchronous capture: the server waits for "cdc:src".
  await server.query(`ALTER SYSTEM SET synchronous_standby_names = '"cdc:src"'`);
  await server.query('SELECT pg_reload_conf()');
  const name = pipelineName('ops-sync-start');
  // A publication that does not exist yet: the capture creates it while it is not streaming.
  pipeline = await startSynchronous(name, { publication: uniqueName('sync_pub'), snapshot: 'never' });
  await waitFor(
    'the capture to stream as the synchronous standby',
    () => Promise.resolve(connector().state === 'streaming' && connector().synchronous?.syncState === 'sync'),
    { timeoutMs: 60_000 },
  );
  // And a commit made now returns once captured.
  const changelog = connectorTopics(name, 'src').changelog;
  await insert(200);
  const events = await readChangelog(name, changelog);
  assert.ok(
    events.some(({ event }) => event.op === 'c' && Number(event.after.id) === 200),
    'row 200 is in the changelog when its commit returned',
  );
  await pipeline.stop();
  pipeline = null;
  await server.query(`ALTER SYSTEM SET synchronous_standby_names = ''`);
  await server.query('SELECT pg_reload_conf()');
});
