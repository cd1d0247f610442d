/**
 * A source's `columns` section: accepted shapes, refusals at their exact paths, and the hash secret kept out of
 * everything the configuration is shown or logged as.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../services/config/load.ts';
import { ruledColumns } from '../../../services/config/columns.ts';
import { collectSecrets, redactConfig } from '../../../services/config/redact.ts';
import { configProblems } from '../../support/config-problems.ts';

const SECRET = 'salt-from-a-mounted-secret-file!';

const withColumns = (columns: unknown, kind = 'postgres') =>
  JSON.stringify({
    name: 'c',
    kafka: { brokers: ['127.0.0.1:59092'] },
    sources: [
      kind === 'postgres'
        ? { name: 'src', kind, url: 'postgres://app:pw@db:5432/shop', columns }
        : { name: 'src', kind, url: 'mysql://app:pw@db:3306/shop', columns },
    ],
  });

void describe('columns configuration', () => {
  void test('filters and every mask shape are accepted, on both source kinds and on a topology node', () => {
    const columns = {
      'public.users': {
        exclude: ['ssn'],
        mask: {
          email: { hash: { secret: SECRET } },
          phone: 'redact',
          pin: { redact: 4 },
          notes: { truncate: 20 },
        },
      },
      'public.*': { include: ['id', 'name'] },
    };
    const config = parseConfig(withColumns(columns), 'json', { env: {} });
    assert.deepEqual(config.sources[0]?.columns, columns);
    assert.deepEqual(
      parseConfig(withColumns(columns, 'mariadb'), 'json', { env: {} }).sources[0]?.columns,
      columns,
    );
    const topology = parseConfig(
      JSON.stringify({
        name: 'c',
        kafka: { brokers: ['127.0.0.1:59092'] },
        topology: {
          shape: 'cascade',
          nodes: [
            { name: 'a', kind: 'postgres', url: 'postgres://app:pw@a:5432/shop', capture: { columns } },
            { name: 'b', kind: 'postgres', url: 'postgres://app:pw@b:5432/shop' },
          ],
          links: [{ from: 'a', to: 'b' }],
        },
      }),
      'json',
      { env: {} },
    );
    assert.deepEqual(topology.sources.find((s) => s.name === 'a')?.columns, columns);
  });

  void test('each mistake is named at its path', () => {
    assert.deepEqual(
      configProblems(
        withColumns({
          'public.users': {
            mask: { email: { hash: { secret: 'short' } }, phone: 'reduct', notes: { truncate: 0 } },
          },
          users: { exclude: ['x'] },
        }),
      ),
      [
        'sources[0].columns.public.users.mask.email.hash.secret: must be at least 16 characters: with a short secret the hashes of guessable values (phone numbers, e-mail addresses) can be recomputed',
        'sources[0].columns.public.users.mask.phone: must be `redact`, `{ redact: <characters> }`, `{ hash: { secret: <text> } }` or `{ truncate: <characters> }`',
        'sources[0].columns.public.users.mask.notes.truncate: must be at least 1 (characters to keep)',
        'sources[0].columns.users: must be "schema.table" (`*` allowed), like "public.users" or "public.*"',
      ],
    );
  });

  void test('include and exclude are not combined in one table', () => {
    assert.deepEqual(configProblems(withColumns({ 'public.users': { include: ['id'], exclude: ['ssn'] } })), [
      'sources[0].columns.public.users.exclude: cannot be combined with include in one table: list the columns to keep, or those to drop',
    ]);
  });

  void test('the hash secret, from a file as a mounted secret would be, is masked where the configuration is shown and scrubbed from logs', () => {
    const folder = mkdtempSync(join(tmpdir(), 'cdc-columns-'));
    const file = join(folder, 'salt');
    writeFileSync(file, `${SECRET}\n`);
    const config = parseConfig(
      withColumns({ 'public.users': { mask: { email: { hash: { secret: `\${file:${file}}` } } } } }),
      'json',
      { env: {} },
    );
    const mask = config.sources[0]?.columns?.['public.users']?.mask?.email;
    assert.deepEqual(mask, { hash: { secret: SECRET } });
    assert.ok(!JSON.stringify(redactConfig(config)).includes(SECRET));
    assert.ok(collectSecrets(config).includes(SECRET));
  });

  void test('a column named like a secret is a column name: its mask is shown and no secret', () => {
    const config = parseConfig(
      withColumns({
        'public.users': { mask: { password: 'redact', api_token: { hash: { secret: SECRET } } } },
      }),
      'json',
      { env: {} },
    );
    assert.deepEqual(collectSecrets(config).sort(), ['pw', SECRET].sort());
    const shown = redactConfig(config).sources[0]?.columns?.['public.users']?.mask;
    assert.deepEqual(shown, { password: 'redact', api_token: { hash: { secret: '***' } } });
  });
});

void test('the columns a comparison passes over: left out (either way) or masked, by every pattern matching the table', () => {
  const columns = {
    'shop.users': { exclude: ['ssn'], mask: { email: 'redact' as const } },
    'shop.u*': { include: ['id', 'email', 'ssn', 'name'] },
    'other.*': { exclude: ['name'] },
  };
  const all = ['id', 'name', 'email', 'ssn', 'notes', 'constructor'];
  assert.deepEqual([...ruledColumns(columns, { schema: 'shop', table: 'users' }, all)].sort(), [
    'constructor',
    'email',
    'notes',
    'ssn',
  ]);
  assert.deepEqual([...ruledColumns(columns, { schema: 'shop', table: 'orders' }, all)], []);
  assert.deepEqual([...ruledColumns(undefined, { schema: 'shop', table: 'users' }, all)], []);
});
