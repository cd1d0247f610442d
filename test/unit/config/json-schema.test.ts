/**
 * The published JSON Schema of the pipeline file, checked with a validator of its own (Ajv, as an editor or a
 * CI linter would use it): it is current, it accepts every example as written (with its `${NAME}` references),
 * and it refuses what `cdc validate` refuses, at the same field.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { PIPELINE_SCHEMA_FILE, pipelineSchemaText } from '../../../services/docs/readme.ts';
import { configProblems } from '../../support/config-problems.ts';

const examplesDir = join(import.meta.dirname, '../../../examples');
const published = JSON.parse(await readFile(PIPELINE_SCHEMA_FILE, 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(published);

/** The fields Ajv complains about, each once, in the dotted form `cdc validate` prints. */
function schemaErrorPaths(config: unknown): string[] {
  if (validate(config)) return [];
  const paths = (validate.errors ?? []).map((error) =>
    error.instancePath
      .replace(/^\//, '')
      .replaceAll('/', '.')
      .replace(/\.(\d+)(?=\.|$)/g, '[$1]'),
  );
  return [...new Set(paths)];
}

interface Editable {
  api?: unknown;
  logLevel?: unknown;
  kafka: Record<string, unknown>;
  sources: Record<string, unknown>[];
  replicas: Record<string, unknown>[];
}

const valid = {
  name: 'demo',
  kafka: { brokers: ['127.0.0.1:59092'] },
  sources: [{ name: 'pg-main', kind: 'postgres', url: 'postgres://app:pw@db:5432/shop' }],
  replicas: [
    { name: 'copy', source: 'pg-main', kind: 'postgres', url: 'postgres://app:pw@replica:5432/shop' },
  ],
};

void test('schemas/config/pipeline.schema.json is current (npm run docs writes it)', async () => {
  assert.equal(await readFile(PIPELINE_SCHEMA_FILE, 'utf8'), pipelineSchemaText());
});

void test('every example pipeline file passes the JSON Schema as written, references and all', async () => {
  const files = (await readdir(examplesDir)).filter((file) => /\.ya?ml$/.test(file));
  assert.ok(files.length >= 3, files.join(', '));
  for (const file of files) {
    const config: unknown = parse(await readFile(join(examplesDir, file), 'utf8'));
    assert.deepEqual(schemaErrorPaths(config), [], `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

void test('what cdc validate refuses for its shape, the JSON Schema refuses at the same field', () => {
  const cases: {
    readonly why: string;
    readonly change: (c: Editable) => void;
    readonly path: string;
  }[] = [
    { why: 'a port that is text', change: (c) => (c.api = { port: 'eighty' }), path: 'api.port' },
    { why: 'an unknown field', change: (c) => (c.kafka.brokerz = ['x:1']), path: 'kafka' },
    { why: 'an unknown source kind', change: (c) => (c.sources[0]!.kind = 'oracle'), path: 'sources[0]' },
    {
      why: 'a broker without a port',
      change: (c) => (c.kafka.brokers = ['kafka']),
      path: 'kafka.brokers[0]',
    },
    { why: 'a missing replica url', change: (c) => delete c.replicas[0]!.url, path: 'replicas[0]' },
    { why: 'an unknown log level', change: (c) => (c.logLevel = 'loud'), path: 'logLevel' },
  ];
  for (const { why, change, path } of cases) {
    const config = structuredClone(valid) as Editable;
    change(config);
    const problems = configProblems(JSON.stringify(config));
    assert.ok(
      problems.some((line) => line.startsWith(path)),
      `${why}: cdc validate says ${JSON.stringify(problems)}`,
    );
    const paths = schemaErrorPaths(config);
    assert.ok(
      paths.some((at) => at === path || at.startsWith(`${path}.`) || at.startsWith(`${path}[`)),
      `${why}: the JSON Schema complains at ${JSON.stringify(paths)}, not at ${path}`,
    );
  }
  assert.deepEqual(schemaErrorPaths(valid), []);
});

void test('a whole-value reference may stand where a number goes, and is checked once expanded', () => {
  const config = { ...structuredClone(valid), api: { port: '${CDC_API_PORT:-8080}' } };
  assert.deepEqual(schemaErrorPaths(config), []);
  assert.deepEqual(schemaErrorPaths({ ...config, api: { port: 'port 8080' } }), ['api.port']);
  assert.ok(
    configProblems(JSON.stringify(config), { CDC_API_PORT: '70000' }).some((l) => l.startsWith('api.port')),
  );
});
