// docker-compose.yml must run the same servers with the same settings as the
// local stack (stack/up.sh), whose settings live in stack/postgres/postgresql.conf,
// stack/mariadb/my.cnf and stack/kafka/server.properties. Settings are read
// from those files, so changing one side without the other fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

type Settings = Map<string, string>;

function asRecord(value: unknown, what: string): Record<string, unknown> {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is not a mapping`);
  return value as Record<string, unknown>;
}

function asStrings(value: unknown, what: string): string[] {
  assert.ok(Array.isArray(value), `${what} is not a list`);
  return value.map((item) => String(item));
}

function composeService(name: string): Record<string, unknown> {
  const compose = asRecord(parse(read('docker-compose.yml')) as unknown, 'docker-compose.yml');
  const services = asRecord(compose.services, 'services');
  return asRecord(services[name], `service ${name}`);
}

// postgresql.conf: `name = value  # comment`, values optionally single-quoted.
function parsePostgresConf(text: string): Settings {
  const settings: Settings = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^([a-z_]+)\s*=?\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    settings.set(match[1], (match[2] ?? '').trim().replace(/^'(.*)'$/, '$1'));
  }
  return settings;
}

// `postgres -c name=value -c ...`
function parsePostgresCommand(command: string[]): Settings {
  const settings: Settings = new Map();
  command.forEach((arg, i) => {
    if (arg !== '-c') return;
    const [name, ...value] = (command[i + 1] ?? '').split('=');
    if (name) settings.set(name, value.join('='));
  });
  return settings;
}

// MariaDB option names accept '-' and '_' alike.
const optionName = (name: string): string => name.trim().replaceAll('-', '_').toLowerCase();

// The [mariadbd] group of my.cnf: `name = value` or a bare `flag`.
function parseMyCnf(text: string, group: string): Settings {
  const settings: Settings = new Map();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section?.[1]) {
      current = section[1];
      continue;
    }
    if (current !== group) continue;
    const [name = '', ...value] = line.split('=');
    settings.set(optionName(name), value.join('=').trim());
  }
  return settings;
}

// `--name=value` or `--flag`
function parseMariadbCommand(command: string[]): Settings {
  const settings: Settings = new Map();
  for (const arg of command) {
    assert.match(arg, /^--/, `unexpected mariadb argument ${arg}`);
    const [name = '', ...value] = arg.slice(2).split('=');
    settings.set(optionName(name), value.join('='));
  }
  return settings;
}

function parseProperties(text: string): Settings {
  const settings: Settings = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    settings.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return settings;
}

// apache/kafka image: KAFKA_FOO_BAR=x becomes foo.bar=x.
function parseKafkaEnvironment(environment: Record<string, unknown>): Settings {
  const settings: Settings = new Map();
  for (const [name, value] of Object.entries(environment)) {
    if (!name.startsWith('KAFKA_') || name === 'KAFKA_HEAP_OPTS') continue;
    settings.set(name.slice('KAFKA_'.length).toLowerCase().replaceAll('_', '.'), String(value));
  }
  return settings;
}

// Every setting of the local file, except those that differ by nature
// (addresses, paths, logging), must have the same value in docker-compose.yml.
function assertSameSettings(local: Settings, compose: Settings, skip: Set<string>, what: string): void {
  const shared = [...local.keys()].filter((name) => !skip.has(name));
  assert.ok(shared.length > 0, `no ${what} settings compared`);
  for (const name of shared) {
    assert.ok(compose.has(name), `${what}: ${name} is set by the local stack but not in docker-compose.yml`);
    assert.equal(
      compose.get(name)?.toLowerCase(),
      local.get(name)?.toLowerCase(),
      `${what}: ${name} differs between the local stack and docker-compose.yml`,
    );
  }
}

void test('docker-compose.yml parses and defines the stack and the service', () => {
  for (const name of ['postgres', 'mariadb', 'kafka', 'cdc']) composeService(name);
  assert.equal(composeService('postgres').image, 'postgres:15');
  assert.equal(composeService('mariadb').image, 'mariadb:10.11');
  const kafkaVersion = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(read('stack/kafka/pom.xml'))?.[1];
  assert.equal(composeService('kafka').image, `apache/kafka:${kafkaVersion}`);
});

void test('PostgreSQL: the same settings as stack/postgres/postgresql.conf', () => {
  const local = parsePostgresConf(read('stack/postgres/postgresql.conf'));
  const compose = parsePostgresCommand(asStrings(composeService('postgres').command, 'postgres command'));
  // What the CDC design depends on, named so that removing it from both sides fails too.
  assert.equal(local.get('wal_level'), 'logical');
  assert.equal(local.get('track_commit_timestamp'), 'on');
  assertSameSettings(
    local,
    compose,
    new Set([
      'listen_addresses',
      'port',
      'unix_socket_directories',
      'logging_collector',
      'log_destination',
      'log_line_prefix',
    ]),
    'PostgreSQL',
  );
  assert.equal(compose.get('wal_level'), 'logical');
  assert.equal(compose.get('track_commit_timestamp'), 'on');
});

void test('PostgreSQL: the same databases as the local stack', () => {
  const sql = read('stack/postgres/create-databases.sql');
  const inCompose = [...sql.matchAll(/CREATE DATABASE (\w+)/g)].map((m) => m[1]).sort();
  const list = /^PG_DATABASES=\(([^)]*)\)/m.exec(read('stack/lib/services.sh'))?.[1] ?? '';
  assert.deepEqual(inCompose, list.trim().split(/\s+/).sort());
  const volumes = asStrings(composeService('postgres').volumes, 'postgres volumes');
  assert.ok(
    volumes.some((v) => v.startsWith('./stack/postgres/create-databases.sql:/docker-entrypoint-initdb.d/')),
  );
});

void test('MariaDB: the same server and binlog settings as stack/mariadb/my.cnf', () => {
  const local = parseMyCnf(read('stack/mariadb/my.cnf'), 'mariadbd');
  const compose = parseMariadbCommand(asStrings(composeService('mariadb').command, 'mariadb command'));
  for (const [name, value] of [
    ['binlog_format', 'ROW'],
    ['binlog_row_image', 'FULL'],
    ['binlog_row_metadata', 'FULL'],
    ['gtid_strict_mode', 'ON'],
  ] as const) {
    assert.equal(local.get(name), value, `my.cnf: ${name}`);
    assert.equal(compose.get(name), value, `docker-compose.yml: ${name}`);
  }
  assertSameSettings(
    local,
    compose,
    new Set(['datadir', 'port', 'bind_address', 'socket', 'pid_file', 'log_error']),
    'MariaDB',
  );
});

void test('Kafka: the same broker settings as stack/kafka/server.properties', () => {
  const local = parseProperties(read('stack/kafka/server.properties'));
  const environment = asRecord(composeService('kafka').environment, 'kafka environment');
  const compose = parseKafkaEnvironment(environment);
  assertSameSettings(
    local,
    compose,
    new Set([
      'controller.quorum.bootstrap.servers', // compose: a static voter instead
      'listeners',
      'advertised.listeners',
      'inter.broker.listener.name',
      'listener.security.protocol.map',
      'log.dirs',
    ]),
    'Kafka',
  );
  // The same host port as the local stack.
  assert.match(String(compose.get('advertised.listeners')), /PLAINTEXT:\/\/127\.0\.0\.1:59092/);
  assert.ok(asStrings(composeService('kafka').ports, 'kafka ports').includes('127.0.0.1:59092:59092'));
});

void test('Registry: the same Apicurio version and host port as stack/registry/pom.xml and stack/env.sh', () => {
  const version = /<apicurio\.version>(.+)<\/apicurio\.version>/.exec(read('stack/registry/pom.xml'))?.[1];
  assert.ok(version, 'stack/registry/pom.xml names no apicurio.version');
  const registry = composeService('registry');
  assert.equal(registry.image, `apicurio/apicurio-registry-mem:${version}`);
  const port = /CDC_REGISTRY_PORT:-(\d+)/.exec(read('stack/env.sh'))?.[1];
  assert.ok(port, 'stack/env.sh sets no default CDC_REGISTRY_PORT');
  assert.ok(asStrings(registry.ports, 'registry ports').includes(`127.0.0.1:${port}:8080`));
  const cdc = asRecord(composeService('cdc').environment, 'cdc environment');
  assert.equal(cdc.CDC_REGISTRY_URL, 'http://registry:8080/apis/ccompat/v7');
});
