/**
 * A capture with candidate servers, restarted after its primary failed over: it keeps the server ids of the
 * replication group in its saved state, so the old primary's transactions it then reads on the new primary
 * (replicated under the old server id) are still the source's own (origin null), as the new primary's are.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectorConfig, RunningConnector } from './harness.ts';
import { caughtUp, GROUP_PASSWORD, startGtidGroup } from '../../support/mariadb-gtid-group.ts';
import type { ThrowawayMariadb } from '../../support/throwaway-mariadb.ts';
import { waitFor } from '../../support/wait.ts';
import { CdcError } from '../../../common/errors.ts';

const servers: ThrowawayMariadb[] = [];
after(async () => {
  for (const server of servers) await server.stop();
});

test('restarted after a failover, capture takes the old primary’s transactions on the new primary as local', async () => {
  const { primary, replica } = await startGtidGroup(0);
  servers.push(primary, replica);
  const config = connectorConfig('shop', {
    url: primary.url('cdc', GROUP_PASSWORD, 'shop'),
    candidates: [replica.url('cdc', GROUP_PASSWORD, 'shop')],
    tables: ['shop.items'],
    heartbeatIntervalMs: 500,
  });
  const first = new RunningConnector(config);
  await first.waitForState('streaming');
  await primary.query("INSERT INTO shop.items VALUES (1, 1, 0, 'first primary')");
  await first.waitForEvents('the first row', (events) => events.length >= 1);
  await first.stop();
  const resume = first.resumePoint();
  assert.deepEqual(resume.state?.groupServerIds, [11, 12], 'the group is in the saved state');

  // While capture is down: the primary commits more, which replicates, then it dies and the replica takes over.
  for (const id of [2, 3])
    await primary.query(`INSERT INTO shop.items VALUES (${id}, 1, 0, 'first primary')`);
  await caughtUp(primary, replica);
  await primary.kill();
  await replica.query('STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0');
  await replica.query("INSERT INTO shop.items VALUES (4, 2, 0, 'new primary')");

  const restarted = new RunningConnector(config, resume);
  try {
    const events = await restarted.waitForEvents(
      'rows 2 to 4 from the new primary',
      (all) => all.length >= 3,
    );
    assert.deepEqual(
      events.map((event) => [String(event.after?.id), event.source.txId?.split('-')[1], event.source.origin]),
      [
        ['2', '11', null],
        ['3', '11', null],
        ['4', '12', null],
      ],
    );
    assert.equal(restarted.connector.status().server?.current, `127.0.0.1:${replica.port}`);
  } finally {
    await restarted.stop();
  }
});

test('a resume position whose binlog was purged: the server’s refusal is SOURCE_POSITION_MISSING, naming the server', async () => {
  const { primary, replica } = await startGtidGroup(0);
  servers.push(primary, replica);
  await primary.query("INSERT INTO shop.items VALUES (1, 1, 0, 'kept')");
  const [before] = await primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
  await primary.query("INSERT INTO shop.items VALUES (2, 1, 0, 'purged'); FLUSH BINARY LOGS");
  const [status] = await primary.query('SHOW MASTER STATUS');
  // A binlog file a replica's dump thread still reads is not purged: the replica stops reading first, and the
  // purge is checked to have happened.
  await replica.query('STOP SLAVE');
  await waitFor('the old binlog files to be purged', async () => {
    await primary.query(`PURGE BINARY LOGS TO '${String(status?.File)}'`);
    const files = await primary.query('SHOW BINARY LOGS');
    return files.length === 1 && files[0]?.Log_name === status?.File;
  });

  const config = connectorConfig('shop', {
    url: primary.url('cdc', GROUP_PASSWORD, 'shop'),
    tables: ['shop.items'],
  });
  const gtidSet = String(before?.pos);
  const running = new RunningConnector(config, {
    position: { commit: { kind: 'binlog', flavor: 'mariadb', gtidSet, seq: 1n }, index: 0 },
    state: null,
  });
  try {
    await waitFor('the connector to stop', () => {
      // Shown on a timeout: what the connector is doing instead.
      if (running.error === null) throw new Error(`status ${JSON.stringify(running.connector.status())}`);
      return true;
    });
  } finally {
    await running.stop();
  }
  assert.ok(running.error instanceof CdcError, String(running.error));
  assert.equal(running.error.code, 'SOURCE_POSITION_MISSING');
  assert.match(
    running.error.message,
    new RegExp(`binlog of 127\\.0\\.0\\.1:${primary.port} does not hold GTID position ${gtidSet}.*purged`),
  );
});
