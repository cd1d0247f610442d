/**
 * A MariaDB GTID replication group of a test's own: a primary (server_id 11) and its replica (server_id 12,
 * read-only, replicating with MASTER_USE_GTID=slave_pos), both with log_slave_updates=ON and the stack's
 * gtid_strict_mode=ON and gtid_domain_id 0, on throwaway servers (throwaway-mariadb.ts). Users on both: `cdc`
 * (all privileges: capture and replication) and `app` (DML on `shop`, so read_only holds it back). The primary
 * holds `shop.items` with `seedRows` rows, and the replica has caught up with it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startThrowawayMariadb, type ThrowawayMariadb } from './throwaway-mariadb.ts';

export const GROUP_PASSWORD = randomBytes(8).toString('hex');

export interface GtidGroup {
  readonly primary: ThrowawayMariadb;
  readonly replica: ThrowawayMariadb;
}

export async function startGtidGroup(seedRows: number): Promise<GtidGroup> {
  const settings = ['log_slave_updates = ON'];
  const [primary, replica] = await Promise.all([
    startThrowawayMariadb(['server_id = 11', ...settings]),
    startThrowawayMariadb(['server_id = 12', ...settings]),
  ]);
  try {
    for (const server of [primary, replica])
      await server.query(`SET SESSION sql_log_bin = 0;
        CREATE USER cdc@'%' IDENTIFIED BY '${GROUP_PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO cdc@'%';
        CREATE USER app@'%' IDENTIFIED BY '${GROUP_PASSWORD}'; GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO app@'%';
        SET SESSION sql_log_bin = 1; RESET MASTER`);
    await replica.query(`CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port},
        MASTER_USER = 'cdc', MASTER_PASSWORD = '${GROUP_PASSWORD}', MASTER_USE_GTID = slave_pos;
        SET GLOBAL read_only = 1; START SLAVE`);
    const seed = Array.from({ length: seedRows }, (_, i) => `(${i + 1}, 0, 0, 'seed')`).join(', ');
    await primary.query(`CREATE DATABASE shop;
      CREATE TABLE shop.items (id bigint PRIMARY KEY, writer int NOT NULL, n int NOT NULL, note varchar(64) NOT NULL);
      ${seedRows > 0 ? `INSERT INTO shop.items VALUES ${seed}` : 'DO 0'}`);
    await caughtUp(primary, replica);
  } catch (error) {
    await Promise.all([primary.stop(), replica.stop()]);
    throw error;
  }
  return { primary, replica };
}

/** Waits until `replica` applied everything `primary` wrote to its binlog. */
export async function caughtUp(primary: ThrowawayMariadb, replica: ThrowawayMariadb): Promise<void> {
  const [row] = await primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
  const [wait] = await replica.query('SELECT MASTER_GTID_WAIT(?, 60) AS result', [String(row?.pos ?? '')]);
  assert.equal(Number(wait?.result), 0, `the replica caught up with ${String(row?.pos)}`);
}
