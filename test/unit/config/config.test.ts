import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CdcError } from '../../../common/errors.ts';
import { loadConfig, parseConfig } from '../../../services/config/load.ts';
import { defaultServerId } from '../../../services/config/schema.ts';
import { configProblems } from '../../support/config-problems.ts';

const valid = {
  name: 'demo',
  kafka: { brokers: ['127.0.0.1:59092'] },
  sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://app:s3cret@db:5432/shop' }],
  replicas: [
    {
      name: 'pg-replica',
      source: 'pg-main',
      kind: 'postgres',
      url: 'postgres://app:s3cret@replica:5432/shop',
    },
  ],
};

type Mutable = Record<string, unknown> & {
  sources: Record<string, unknown>[];
  replicas: Record<string, unknown>[];
};

function variant(change: (config: Mutable) => void): string {
  const config = structuredClone(valid) as unknown as Mutable;
  change(config);
  return JSON.stringify(config);
}

const problemsOf = configProblems;

void describe('valid configuration', () => {
  void test('fills in every default, including those derived from names', () => {
    const config = parseConfig(JSON.stringify(valid), 'json', { env: {} });
    const source = config.sources[0];
    assert.ok(source?.kind === 'postgres');
    assert.equal(source.publication, 'cdc_pg-main');
    assert.equal(source.slot, 'cdc_pg_main');
    assert.deepEqual(source.tables, ['public.*']);
    assert.equal(source.snapshot, 'initial');
    assert.equal(source.snapshotChunkRows, 10_000);
    assert.equal(config.kafka.clientId, 'cdc');
    assert.equal(config.kafka.topicPrefix, 'cdc');
    assert.equal(config.kafka.partitions, 1);
    assert.equal(config.kafka.sessionTimeoutMs, 30_000);
    assert.equal(config.kafka.compression, 'none');
    assert.equal(config.kafka.maxEventBytes, 1_048_576);
    assert.equal(config.kafka.oversizedEvents, 'fail');
    assert.equal(config.replicas[0]?.onError, 'dead-letter');
    assert.equal(config.replicas[0]?.batch.maxEvents, 5000);
    assert.equal(config.replicas[0]?.origin, true);
    assert.deepEqual(config.api, {
      host: '127.0.0.1',
      port: 8080,
      tokens: [],
      openProbes: true,
      verifyConcurrency: 1,
      waitConcurrency: 256,
    });
    assert.equal(config.logLevel, 'info');
  });

  void test('a MariaDB source gets a stable server id and the tables of its database', () => {
    const text = variant((c) => {
      c.sources = [{ name: 'shop', kind: 'mariadb', url: 'mysql://root@127.0.0.1:53306/shop' }];
      c.replicas = [];
    });
    const first = parseConfig(text, 'json', { env: {} }).sources[0];
    const again = parseConfig(text, 'json', { env: {} }).sources[0];
    assert.ok(first?.kind === 'mariadb' && again?.kind === 'mariadb');
    assert.equal(first.serverId, again.serverId);
    assert.equal(first.serverId, defaultServerId('shop'));
    assert.ok(first.serverId > 1000 && first.serverId <= 4_294_967_295);
    assert.deepEqual(first.tables, ['shop.*']);
  });

  void test('YAML and JSON files load the same configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cdc-config-'));
    try {
      const yamlPath = join(dir, 'p.yaml');
      const jsonPath = join(dir, 'p.json');
      await writeFile(
        yamlPath,
        'name: demo\nkafka:\n  brokers: [127.0.0.1:59092]\nsources:\n  - { name: pg-main, kind: postgres, url: "postgres://app:s3cret@db:5432/shop" }\nreplicas:\n  - { name: pg-replica, source: pg-main, kind: postgres, url: "postgres://app:s3cret@replica:5432/shop" }\n',
      );
      await writeFile(jsonPath, JSON.stringify(valid));
      assert.deepEqual(await loadConfig(yamlPath, { env: {} }), await loadConfig(jsonPath, { env: {} }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe('invalid configuration names the exact field and why', () => {
  void test('missing url', () => {
    const problems = problemsOf(variant((c) => delete c.sources[0]!.url));
    assert.deepEqual(problems, ['sources[0].url: is required']);
  });

  void test('a kind that does not exist', () => {
    const problems = problemsOf(variant((c) => (c.sources[0]!.kind = 'oracle')));
    assert.deepEqual(problems, ['sources[0].kind: must be "postgres" or "mariadb" or "mysql", not "oracle"']);
  });

  void test('a value outside an enum', () => {
    const problems = problemsOf(variant((c) => (c.replicas[0]!.onError = 'ignore')));
    assert.deepEqual(problems, ['replicas[0].onError: must be "dead-letter" or "stop", not "ignore"']);
  });

  void test('negative and non-integer batch sizes', () => {
    assert.deepEqual(problemsOf(variant((c) => (c.replicas[0]!.batch = { maxEvents: -5 }))), [
      'replicas[0].batch.maxEvents: must be a positive integer',
    ]);
    assert.deepEqual(problemsOf(variant((c) => (c.replicas[0]!.batch = { maxEvents: 2.5 }))), [
      'replicas[0].batch.maxEvents: must be a positive integer',
    ]);
    assert.deepEqual(problemsOf(variant((c) => (c.replicas[0]!.batch = { maxEvents: 'many' }))), [
      'replicas[0].batch.maxEvents: must be a positive integer',
    ]);
  });

  void test('a session timeout the broker would refuse', () => {
    const problems = problemsOf(
      variant((c) => ((c.kafka as Record<string, unknown>).sessionTimeoutMs = 1000)),
    );
    assert.deepEqual(problems, [
      'kafka.sessionTimeoutMs: must be at least 6000 (the broker default group.min.session.timeout.ms)',
    ]);
  });

  void test('event size and compression settings outside what Kafka and kafkajs take', () => {
    const problems = problemsOf(
      variant((c) => {
        const kafka = c.kafka as Record<string, unknown>;
        kafka.maxEventBytes = 200 * 1024 * 1024;
        kafka.oversizedEvents = 'drop';
        kafka.compression = 'lz4';
      }),
    );
    assert.deepEqual(problems, [
      'kafka.compression: must be "none" or "gzip" or "zstd", not "lz4"',
      'kafka.maxEventBytes: must be at most 67108864 (64 MiB): a produce request must stay under the broker socket.request.max.bytes (100 MiB by default)',
      'kafka.oversizedEvents: must be "fail" or "sideTopic", not "drop"',
    ]);
  });

  void test('a replica that names an unknown source', () => {
    const problems = problemsOf(variant((c) => (c.replicas[0]!.source = 'pg-other')));
    assert.deepEqual(problems, ['replicas[0].source: names no source: "pg-other" is not one of "pg-main"']);
  });

  void test('duplicate source and replica names', () => {
    const problems = problemsOf(
      variant((c) => {
        c.sources.push({ ...c.sources[0]!, slot: 'other_slot' });
        c.replicas.push({ ...c.replicas[0]! });
      }),
    );
    assert.deepEqual(problems, [
      'sources[1].name: duplicate source name "pg-main" (also sources[0].name)',
      'replicas[1].name: duplicate replica name "pg-replica" (also replicas[0].name)',
    ]);
  });

  void test('two sources whose default slots collide on one server', () => {
    const problems = problemsOf(variant((c) => c.sources.push({ ...c.sources[0]!, name: 'pg_main' })));
    assert.deepEqual(problems, ['sources[1].slot: duplicate slot "cdc_pg_main" (also sources[0].slot)']);
  });

  void test('unknown keys are rejected with their path', () => {
    const problems = problemsOf(
      variant((c) => {
        c.replicas[0]!.batch = { maxEvent: 10 };
        c.sources[0]!.slotName = 'x';
        c.extra = true;
      }),
    );
    assert.deepEqual(
      problems.sort(),
      [
        'extra: unknown key (check its spelling and where it is nested)',
        'replicas[0].batch.maxEvent: unknown key (check its spelling and where it is nested)',
        'sources[0].slotName: unknown key (check its spelling and where it is nested)',
      ].sort(),
    );
  });

  void test('every problem is listed at once', () => {
    const problems = problemsOf(
      variant((c) => {
        delete c.kafka;
        c.sources[0]!.snapshot = 'sometimes';
        c.sources[0]!.url = 'mysql://x@y/z';
        c.name = 'Demo!';
      }),
    );
    assert.deepEqual(problems.sort(), [
      'kafka: is required',
      'name: must use only lowercase letters, digits, "_" and "-"',
      'sources[0].snapshot: must be "initial" or "never", not "sometimes"',
      'sources[0].url: must use scheme postgres or postgresql, not "mysql"',
    ]);
  });

  void test('onSlotLost: stop by default, resnapshot accepted, anything else named', () => {
    const parsed = parseConfig(JSON.stringify(valid), 'json', { env: {} });
    assert.equal(parsed.sources[0]?.kind === 'postgres' && parsed.sources[0].onSlotLost, 'stop');
    const taken = parseConfig(
      variant((c) => (c.sources[0]!.onSlotLost = 'resnapshot')),
      'json',
      { env: {} },
    );
    assert.equal(taken.sources[0]?.kind === 'postgres' && taken.sources[0].onSlotLost, 'resnapshot');
    assert.deepEqual(problemsOf(variant((c) => (c.sources[0]!.onSlotLost = 'ignore'))), [
      'sources[0].onSlotLost: must be "stop" or "resnapshot", not "ignore"',
    ]);
  });

  void test('wrong types say what was expected', () => {
    assert.deepEqual(
      problemsOf(variant((c) => (c.sources = { name: 'x' } as unknown as Record<string, unknown>[]))),
      ['sources: must be a list, not a mapping'],
    );
    assert.deepEqual(problemsOf(variant((c) => (c.replicas[0]!.origin = 'yes'))), [
      'replicas[0].origin: must be true or false, not text',
    ]);
  });

  void test('a URL is never echoed in a problem (it may hold a password)', () => {
    const problems = problemsOf(variant((c) => (c.sources[0]!.url = 'mysql://app:hunter22@db/shop')));
    assert.ok(!problems.join('\n').includes('hunter22'), problems.join('\n'));
  });

  void test('a MariaDB source without tables needs a database in its url', () => {
    const problems = problemsOf(
      variant((c) => {
        c.sources = [{ name: 'shop', kind: 'mariadb', url: 'mysql://root@127.0.0.1:53306/' }];
        c.replicas = [];
      }),
    );
    assert.deepEqual(problems, ['sources[0].tables: is required when the url names no database']);
  });
});

void describe('environment references', () => {
  void test('${NAME} and ${NAME:-default} are expanded, whole references keep their type', () => {
    const text = variant((c) => {
      c.sources[0]!.url = 'postgres://app:${PGPASSWORD}@${PGHOST:-localhost}:5432/shop';
      c.api = { port: '${API_PORT:-9090}' };
      c.replicas[0]!.origin = '${ORIGIN}';
    });
    const config = parseConfig(text, 'json', { env: { PGPASSWORD: 'p4ss', ORIGIN: 'false' } });
    assert.equal(config.sources[0]?.url, 'postgres://app:p4ss@localhost:5432/shop');
    assert.equal(config.api.port, 9090);
    assert.equal(config.replicas[0]?.origin, false);
  });

  void test('$${ stays a literal ${', () => {
    const config = parseConfig(
      variant((c) => (c.kafka = { brokers: ['127.0.0.1:59092'], clientId: 'cdc-$${x}' })),
      'json',
      { env: {} },
    );
    assert.equal(config.kafka.clientId, 'cdc-${x}');
  });

  void test('a missing variable without default names the variable and the field', () => {
    const problems = problemsOf(variant((c) => (c.sources[0]!.url = 'postgres://app:${PGPASSWORD}@db/shop')));
    assert.deepEqual(problems, [
      'sources[0].url: environment variable PGPASSWORD is not set (write ${PGPASSWORD:-value} to give a default)',
    ]);
  });
});

void describe('unreadable configuration', () => {
  void test('YAML syntax errors give line and column', () => {
    assert.throws(
      () => parseConfig('name: demo\nkafka:\n  brokers: [a:1\nsources: []\n', 'yaml', { origin: 'p.yaml' }),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'CONFIG_UNREADABLE' &&
        /p\.yaml/.test(error.message) &&
        /line \d+, column \d+/.test(error.message) &&
        typeof error.fields.line === 'number',
    );
  });

  void test('duplicate YAML keys are an error', () => {
    assert.throws(
      () => parseConfig('name: a\nname: b\n', 'yaml'),
      (error: unknown) =>
        error instanceof CdcError && error.code === 'CONFIG_UNREADABLE' && /line 2/.test(error.message),
    );
  });

  void test('JSON syntax errors give line and column', () => {
    assert.throws(
      () => parseConfig('{\n  "name": "demo",\n  "kafka": }\n', 'json', { origin: 'p.json' }),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'CONFIG_UNREADABLE' &&
        /line 3, column \d+/.test(error.message),
    );
  });

  void test('a missing file names the path', async () => {
    await assert.rejects(
      loadConfig('/nonexistent/pipeline.yaml'),
      (error: unknown) =>
        error instanceof CdcError &&
        error.code === 'CONFIG_UNREADABLE' &&
        error.message.includes('/nonexistent/pipeline.yaml'),
    );
  });

  void test('an empty file is invalid', () => {
    assert.throws(
      () => parseConfig('', 'yaml'),
      (error: unknown) =>
        error instanceof CdcError && error.code === 'CONFIG_INVALID' && /is empty/.test(error.message),
    );
  });
});
