/**
 * Which origin marking a link's target allows, as reported at start-up: checked against real servers with a
 * privileged user and with a plain one lacking the grants, so the message names the grant that is missing (and
 * a target under `originMarking: auto` falls back to a marker row).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { originMarking } from '../../../services/pipeline/topology-origins.ts';
import { createMariadbDatabase, mariadbAdminQuery, type MariadbTestDatabase } from '../../support/mariadb.ts';
import { adminQuery, createDatabase, type TestDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';

const plainUser = uniqueName('plain');
let pgDb: TestDatabase;
let mariaDb: MariadbTestDatabase;

before(async () => {
  pgDb = await createDatabase('marking_pg');
  mariaDb = await createMariadbDatabase('marking_m');
  await adminQuery(`CREATE ROLE ${plainUser} LOGIN PASSWORD 'pw'`);
  await mariadbAdminQuery(`CREATE USER '${plainUser}'@'%' IDENTIFIED BY 'pw'`);
  await mariadbAdminQuery(`CREATE USER '${plainUser}'@'localhost' IDENTIFIED BY 'pw'`);
  await mariadbAdminQuery(
    `GRANT ALL ON \`${mariaDb.name}\`.* TO '${plainUser}'@'%', '${plainUser}'@'localhost'`,
  );
});

after(async () => {
  await pgDb.drop();
  await mariaDb.drop();
  await adminQuery(`DROP ROLE IF EXISTS ${plainUser}`);
  await mariadbAdminQuery(`DROP USER IF EXISTS '${plainUser}'@'%', '${plainUser}'@'localhost'`);
});

/** A pair p ⇄ m whose targets are reached as `user` (the stack's admin when absent). */
function pairAs(user?: string, nodeFields: Record<string, unknown> = {}): PipelineConfig {
  const as = (url: string) => {
    const parsed = new URL(url);
    if (user !== undefined) {
      parsed.username = user;
      parsed.password = 'pw';
    }
    return parsed.toString();
  };
  return parseConfig(
    JSON.stringify({
      name: 'marking',
      kafka: { brokers: stack.kafkaBrokers },
      topology: {
        shape: 'pair',
        nodes: [
          { name: 'p', kind: 'postgres', url: as(pgDb.url), ...nodeFields },
          { name: 'm', kind: 'mariadb', url: as(mariaDb.url), serverId: 1, gtidDomainId: 0, ...nodeFields },
        ],
        links: [{ from: 'p', to: 'm' }],
      },
    }),
    'json',
    { env: {} },
  );
}

async function markings(config: PipelineConfig) {
  const result: Record<string, Awaited<ReturnType<typeof originMarking>>> = {};
  for (const link of config.topology?.links ?? []) {
    const replica = config.replicas.find((candidate) => candidate.name === link.replica);
    assert.ok(replica);
    result[link.replica] = await originMarking(link, replica);
  }
  return result;
}

test('a privileged user marks with replication origins (PostgreSQL) and session server ids (MariaDB)', async () => {
  const config = pairAs();
  const link = (name: string) => config.topology?.links.find((l) => l.replica === name)?.marker;
  assert.deepEqual(await markings(config), {
    'p-to-m': { kind: 'server-id', marker: link('p-to-m') },
    'm-to-p': { kind: 'replication-origin', marker: 'cdc_m__p' },
  });
});

test('a user without the grants falls back to a marker row, told which grant native marking needs', async () => {
  const result = await markings(pairAs(plainUser));
  const intoP = result['m-to-p'];
  assert.equal(intoP?.kind, 'marker-row');
  assert.match(
    intoP.kind === 'marker-row' ? (intoP.reason ?? '') : '',
    new RegExp(`GRANT EXECUTE ON FUNCTION pg_replication_origin_create\\(text\\), .* TO "${plainUser}"`),
  );
  const intoM = result['p-to-m'];
  assert.equal(intoM?.kind, 'marker-row');
  assert.match(
    intoM.kind === 'marker-row' ? (intoM.reason ?? '') : '',
    new RegExp(`GRANT BINLOG REPLAY ON \\*\\.\\* TO '${plainUser}'`),
  );
});

test('originMarking native: a user without the grants is reported unmarked, naming the grant', async () => {
  const config = pairAs(plainUser, { originMarking: 'native' });
  const result = await markings(config);
  assert.equal(result['m-to-p']?.kind, 'none');
  assert.match(
    result['m-to-p']?.kind === 'none' ? result['m-to-p'].reason : '',
    /no superuser and lacks EXECUTE on pg_replication_origin_\* \(no privilege for replication origins: GRANT EXECUTE ON FUNCTION pg_replication_origin_create/,
  );
  assert.equal(result['p-to-m']?.kind, 'none');
  assert.match(result['p-to-m']?.kind === 'none' ? result['p-to-m'].reason : '', /GRANT BINLOG REPLAY/);
});
