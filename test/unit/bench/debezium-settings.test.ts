// The Debezium Server side of `npm run bench:peer` is only a fair comparison if it runs as its users would for a
// catch-up of rows written before it started, and if CI never fetches its 780 MB distribution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEBEZIUM_CONFIGURATIONS,
  DEBEZIUM_HEAP,
  mariadbSettings,
  postgresSettings,
  printable,
  sharedSettings,
} from '../../../bench/peer/debezium-settings.ts';
import { REPO_ROOT } from '../../support/child-process.ts';

test('PostgreSQL: Debezium streams from the slot made before the rows, with no snapshot and no publication of its own', () => {
  const settings = postgresSettings(
    'postgres://u:secret@db:6543/src',
    'slot_a',
    'bench_pub',
    'public.bench_rows',
  );
  assert.equal(settings['debezium.source.slot.name'], 'slot_a');
  assert.equal(settings['debezium.source.snapshot.mode'], 'no_data');
  assert.equal(settings['debezium.source.publication.name'], 'bench_pub');
  assert.equal(settings['debezium.source.publication.autocreate.mode'], 'disabled');
  assert.equal(settings['debezium.source.database.dbname'], 'src');
  assert.equal(settings['debezium.source.database.port'], '6543');
});

test('MariaDB: Debezium reads only the bench tables, without locking the shared server', () => {
  const settings = mariadbSettings('mysql://root@127.0.0.1/', 931_000, 'peer_db', [
    'bench_rows',
    'bench_mark',
  ]);
  assert.equal(settings['debezium.source.table.include.list'], 'peer_db.bench_rows,peer_db.bench_mark');
  assert.equal(settings['debezium.source.database.port'], '3306');
  assert.equal(settings['debezium.source.snapshot.locking.mode'], 'none');
  assert.equal(settings['debezium.source.database.password'], undefined);
});

test('the configurations compare JSON with and without schemas, sizes raised for a catch-up, heap capped', () => {
  const names = DEBEZIUM_CONFIGURATIONS.map((configuration) => configuration.name);
  assert.equal(new Set(names).size, names.length);
  const schemaless = DEBEZIUM_CONFIGURATIONS.filter(
    ({ settings }) => settings['debezium.format.value.schemas.enable'] === 'false',
  );
  assert.ok(schemaless.length >= 1 && schemaless.length < DEBEZIUM_CONFIGURATIONS.length);
  // Debezium's defaults: 2,048 records a batch, 8,192 queued.
  for (const { settings } of schemaless) {
    assert.ok(Number(settings['debezium.source.max.batch.size']) > 2_048);
    assert.ok(Number(settings['debezium.source.max.queue.size']) > 8_192);
  }
  assert.match(DEBEZIUM_HEAP, /^-Xmx\d+m$/);
});

test('printed settings hide passwords', () => {
  const lines = printable({
    ...sharedSettings(['127.0.0.1:9092'], 'p'),
    ...postgresSettings('postgres://u:secret@db/src', 's', 'p', 't'),
  });
  assert.ok(lines.includes('debezium.source.database.password=***'));
  assert.ok(!lines.some((line) => line.includes('secret')));
});

test('neither the stack install nor CI fetches Debezium Server', () => {
  for (const file of ['stack/install.sh', 'stack/up.sh', 'stack/test.sh', '.ci/run']) {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    assert.doesNotMatch(text, /debezium-server|bench:peer/, file);
  }
});
