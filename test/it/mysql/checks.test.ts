import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminConnection, createDatabase, connectorConfig, RunningConnector } from './harness.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { CdcError } from '../../../common/errors.ts';
import { waitFor } from '../../support/wait.ts';

void describe('start-up checks of the source', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const user = uniqueName('cdc_user');
  const password = 'pw-' + uniqueName('x');

  before(async () => {
    db = await createDatabase('mysql_checks');
    const admin = await adminConnection();
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '127.0.0.1', password]);
    await admin.query(`GRANT SELECT ON \`${db.name}\`.* TO ?@?`, [user, '127.0.0.1']);
    await admin.end();
  });
  after(async () => {
    const admin = await adminConnection();
    await admin.query('DROP USER IF EXISTS ?@?', [user, '127.0.0.1']);
    await admin.end();
    await db.drop();
  });

  void test('a user without replication privileges is refused with the privilege named', async () => {
    const url = new URL(stack.mariadbUrl);
    url.username = user;
    url.password = password;
    const running = new RunningConnector(connectorConfig(db.name, { url: url.toString() }));
    try {
      const error = await waitFor('the connector to fail', () => running.error);
      assert.ok(error instanceof CdcError);
      assert.equal(error.code, 'SOURCE_PRIVILEGE');
      assert.match(error.message, /REPLICATION SLAVE/);
      assert.match(error.message, /REPLICATION CLIENT/);
      assert.equal(running.connector.status().state, 'failed');
    } finally {
      await running.stop();
    }
  });

  void test('the wrong flavor is explained', async () => {
    const running = new RunningConnector(connectorConfig(db.name, { flavor: 'mysql' }));
    try {
      const error = await waitFor('the connector to fail', () => running.error);
      assert.ok(error instanceof CdcError);
      assert.equal(error.code, 'SOURCE_NOT_CONFIGURED');
      assert.match(error.message, /the source server is mariadb .* configured with flavor 'mysql'/);
    } finally {
      await running.stop();
    }
  });
});
