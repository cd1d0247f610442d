/**
 * Failure scenario: `cdc run --config` with an invalid file. The process exits 1 before starting anything, and
 * its message names the file and the exact field that is wrong (with what is wrong with it), never echoing a
 * password.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startCli } from '../../support/child-process.ts';
import { stack, uniqueName } from '../../support/stack.ts';

const VALID = {
  name: 'cfg',
  kafka: { brokers: stack.kafkaBrokers, topicPrefix: 'cfg' },
  sources: [{ name: 'src', kind: 'postgres', url: 'postgres://cdc:s3cret@127.0.0.1:55432/db' }],
  replicas: [
    { name: 'dst', source: 'src', kind: 'postgres', url: 'postgres://cdc:s3cret@127.0.0.1:55432/rep' },
  ],
};

interface Case {
  readonly name: string;
  readonly extension: 'json' | 'yaml';
  readonly text: string;
  /** Every line that must appear in the error output. */
  readonly expected: readonly string[];
}

function json(change: (config: typeof VALID & Record<string, unknown>) => unknown): string {
  const copy = structuredClone(VALID) as typeof VALID & Record<string, unknown>;
  return JSON.stringify(change(copy) ?? copy, null, 2);
}

const CASES: readonly Case[] = [
  {
    name: 'a broker without a port',
    extension: 'json',
    text: json((c) => ({ ...c, kafka: { brokers: ['localhost'] } })),
    expected: ['error [CONFIG_INVALID]', 'kafka.brokers[0]: must be "host:port"'],
  },
  {
    name: 'a negative chunk size',
    extension: 'json',
    text: json((c) => ({ ...c, sources: [{ ...c.sources[0], snapshotChunkRows: -3 }] })),
    expected: ['sources[0].snapshotChunkRows: must be a positive integer'],
  },
  {
    name: 'a misspelled key in YAML',
    extension: 'yaml',
    text: 'name: cfg\nkafka:\n  brokers: ["127.0.0.1:59092"]\nsources:\n  - name: src\n    kind: postgres\n    url: postgres://127.0.0.1/db\n    slott: my_slot\n',
    expected: ['sources[0].slott: unknown key'],
  },
  {
    name: 'a replica naming no source',
    extension: 'json',
    text: json((c) => ({ ...c, replicas: [{ ...c.replicas[0], source: 'nope' }] })),
    expected: ['replicas[0].source: names no source: "nope" is not one of "src"'],
  },
  {
    name: 'a source URL of the wrong kind',
    extension: 'json',
    text: json((c) => ({ ...c, sources: [{ ...c.sources[0], url: 'mysql://cdc:s3cret@127.0.0.1/db' }] })),
    expected: ['sources[0].url: must use scheme postgres or postgresql, not "mysql"'],
  },
  {
    name: 'a missing source URL',
    extension: 'json',
    text: json((c) => ({ ...c, sources: [{ name: 'src', kind: 'postgres' }] })),
    expected: ['sources[0].url: is required'],
  },
  {
    name: 'broken JSON',
    extension: 'json',
    text: '{\n  "name": "cfg",\n  "kafka": { "brokers": ["127.0.0.1:59092"], }\n}\n',
    expected: ['error [CONFIG_UNREADABLE]', 'line 3'],
  },
];

describe('cdc run with an invalid configuration exits 1 and names the field', () => {
  for (const item of CASES) {
    test(item.name, async () => {
      const file = join(tmpdir(), `${uniqueName('cfg')}.${item.extension}`);
      await writeFile(file, item.text);
      try {
        const child = startCli(['run', '--config', file, '--role', 'capture']);
        const exit = await child.exited;
        const output = child.stderr();
        assert.equal(exit.code, 1, `exit code; output:\n${output}${child.stdout()}`);
        assert.ok(output.includes(file), `the message names the file:\n${output}`);
        for (const expected of item.expected) {
          assert.ok(
            output.includes(expected),
            `the message contains ${JSON.stringify(expected)}:\n${output}`,
          );
        }
        assert.ok(!`${output}${child.stdout()}`.includes('s3cret'), `no password is echoed:\n${output}`);
        assert.ok(!child.stdout().includes('started'), 'nothing was started');
      } finally {
        await rm(file, { force: true });
      }
    });
  }

  test('a missing file', async () => {
    const file = join(tmpdir(), `${uniqueName('missing')}.yaml`);
    const child = startCli(['run', '--config', file]);
    const exit = await child.exited;
    assert.equal(exit.code, 1);
    assert.match(
      child.stderr(),
      /error \[CONFIG_UNREADABLE\]: cannot read configuration file .*missing.*ENOENT/,
    );
  });
});
