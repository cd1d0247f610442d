/**
 * Column filters and masks through a real pipeline, for a PostgreSQL and a MariaDB source: rows are
 * snapshotted, then inserted, updated (with full before-images: REPLICA IDENTITY FULL, binlog full row images)
 * and deleted; one update is refused by the replica and dead-lettered. Then, as anyone able to read Kafka would:
 * no original value of a masked or left-out column is anywhere in the bytes of the changelog, the schema topic
 * or the dead-letter topic, nor in the log; the replica holds the masked values and has no left-out column, and
 * `cdc verify` finds it equal, passing over the columns it cannot compare.
 * A rule on a key column stops capture before anything of the table is published, naming the setting.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { createLogger } from '../../../common/logger.ts';
import { parseConfig } from '../../../services/config/load.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { startPipeline, type RunningPipeline } from '../../../services/pipeline/pipeline.ts';
import { verifyReplica } from '../../../services/verify/verify-replica.ts';
import { deleteKafkaState, topicEnd } from '../../support/changelog.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  type MariadbTestDatabase,
} from '../../support/mariadb.ts';
import { createDatabase, dropOriginsOf, type TestDatabase } from '../../support/pg.ts';
import { readRaw } from '../../support/raw-topic.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const SECRET = 'column-masking-test-secret-0123456789';
const NOTE_CHARS = 12;
/** The update of this row is refused by a trigger on the replica, so it goes to the dead-letter topic. */
const REFUSED_ID = 3;

interface Customer {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly phone: string;
  readonly notes: string;
  readonly ssn: string;
  readonly age: number;
}

const customer = (id: number, generation = 0): Customer => ({
  id,
  name: `customer ${id}`,
  email: `mail-${id}-g${generation}-private@example.org`,
  phone: `+44-20-7946-${1000 + id}-g${generation}`,
  notes: `note ${id}/${generation}: the customer confided a long private story`,
  ssn: `SSN-${id}-${generation}-000-XYZ`,
  age: 30 + id,
});

/** What the replica must hold for a source row, as text. */
const masked = (row: Customer) => ({
  id: String(row.id),
  name: row.name,
  email: createHmac('sha256', SECRET).update(row.email).digest('hex'),
  phone: '********',
  notes: row.notes.slice(0, NOTE_CHARS),
  age: '***',
});

/** Where the text columns of a customer row stand apart from everything else in a record. */
const originals = (row: Customer) => [row.email, row.phone, row.notes, row.ssn];

/** What differs between the two source kinds. */
interface SourceSide {
  readonly kind: 'postgres' | 'mariadb';
  /** The source's schema (PostgreSQL) or database (MariaDB), as the column rules name tables. */
  readonly schema: string;
  readonly sourceUrl: string;
  readonly replicaUrl: string;
  write(sql: string, params?: readonly unknown[]): Promise<unknown>;
  /** Replica rows as text, by id. */
  replicaRows(): Promise<Record<string, string | null>[]>;
  replicaColumns(): Promise<string[]>;
  /** Makes the replica refuse any update of the row `id`. */
  refuseUpdateOf(id: number): Promise<void>;
}

async function postgresSide(): Promise<SourceSide> {
  const source: TestDatabase = await createDatabase('mask_src');
  cleanups.push(() => source.drop());
  const replica: TestDatabase = await createDatabase('mask_dst');
  cleanups.push(() => replica.drop());
  await source.query(
    'CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text, phone text, notes text, ssn text, age int)',
  );
  await source.query('ALTER TABLE customers REPLICA IDENTITY FULL');
  return {
    kind: 'postgres',
    schema: 'public',
    sourceUrl: source.url,
    replicaUrl: replica.url,
    write: (sql, params) => source.query(sql, params),
    replicaRows: async () =>
      (
        await replica.query(
          'SELECT id::text, name, email, phone, notes, age FROM public.customers ORDER BY customers.id',
        )
      ).rows,
    replicaColumns: async () =>
      (
        await replica.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'customers' ORDER BY ordinal_position`,
        )
      ).rows.map((row) => row.column_name),
    refuseUpdateOf: async (id) => {
      await replica.query(
        `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
      );
      await replica.query(
        `CREATE TRIGGER refuse BEFORE UPDATE ON public.customers FOR EACH ROW WHEN (OLD.id = ${id}) EXECUTE FUNCTION refuse()`,
      );
      // The sink's session may write as a replica (origins): the trigger must fire there too.
      await replica.query('ALTER TABLE public.customers ENABLE ALWAYS TRIGGER refuse');
    },
  };
}

async function mariadbSide(): Promise<SourceSide> {
  const source: MariadbTestDatabase = await createMariadbDatabase('mask_src');
  cleanups.push(() => source.drop());
  const replica: MariadbTestDatabase = await createMariadbDatabase('mask_dst');
  cleanups.push(() => replica.drop());
  await source.query(
    'CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(60) NOT NULL, email varchar(80), phone varchar(40), notes text, ssn varchar(40), age int)',
  );
  return {
    kind: 'mariadb',
    schema: source.name,
    sourceUrl: source.url,
    replicaUrl: replica.url,
    write: (sql, params) => source.query(sql.replaceAll(/\$\d+/g, '?'), params),
    replicaRows: () =>
      replica.query(
        `SELECT id, name, email, phone, notes, age FROM \`${replica.name}\`.customers ORDER BY id`,
      ),
    replicaColumns: async () =>
      (
        await replica.query(
          `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'customers' ORDER BY ORDINAL_POSITION`,
          [replica.name],
        )
      ).map((row) => row.name ?? ''),
    refuseUpdateOf: async (id) => {
      await replica.query(
        `CREATE TRIGGER refuse BEFORE UPDATE ON customers FOR EACH ROW BEGIN IF OLD.id = ${id} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END`,
      );
    },
  };
}

function configFor(side: SourceSide, sourceName: string, columns: Record<string, unknown>) {
  return parseConfig(
    JSON.stringify({
      name: sourceName,
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: sourceName },
      sources: [
        {
          name: sourceName,
          kind: side.kind,
          url: side.sourceUrl,
          ...(side.kind === 'postgres' ? { slot: uniqueName('slot') } : {}),
          snapshotChunkRows: 7,
          heartbeatIntervalMs: 500,
          columns,
        },
      ],
      replicas: [{ name: 'copy', source: sourceName, kind: side.kind, url: side.replicaUrl }],
    }),
    'json',
  );
}

async function start(sourceName: string, config: ReturnType<typeof configFor>, log: string[]) {
  cleanups.push(() =>
    deleteKafkaState(Object.values(connectorTopics(sourceName, sourceName)), [], `${sourceName}.`),
  );
  cleanups.push(() =>
    config.sources[0]?.kind === 'postgres'
      ? dropOriginsOf(sourceName)
      : forgetMariadbAppliedPosition(sourceName),
  );
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => log.push(line) } });
  const pipeline = await startPipeline(config, logger, { api: false });
  cleanups.push(() => pipeline.stop());
  return pipeline;
}

function describeParts(pipeline: RunningPipeline): string {
  return [...pipeline.connectors(), ...pipeline.workers()]
    .map((part) => `${part.name} ${part.state} ${part.lastError ?? ''}`)
    .join('; ');
}

async function insert(side: SourceSide, rows: readonly Customer[]) {
  for (const row of rows)
    await side.write(
      'INSERT INTO customers (id, name, email, phone, notes, ssn, age) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [row.id, row.name, row.email, row.phone, row.notes, row.ssn, row.age],
    );
}

/** Every byte of every record: key, value and headers. */
function recordBytes(messages: readonly KafkaMessage[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    if (message.key) parts.push(message.key);
    if (message.value) parts.push(message.value);
    for (const [name, value] of Object.entries(message.headers ?? {}))
      parts.push(Buffer.from(name), ...[value ?? []].flat().map((v) => Buffer.from(v)));
  }
  return Buffer.concat(parts);
}

function assertNoneIn(what: string, bytes: Buffer | string, secrets: readonly string[]) {
  const leaked = secrets.filter((secret) => bytes.includes(secret));
  assert.deepEqual(leaked, [], `${what} holds original values`);
}

/**
 * The whole scenario for one source kind: snapshot 20 rows, stream inserts, updates (one refused by the
 * replica) and deletes, then look at everything that left the source.
 */
async function maskedPipeline(makeSide: () => Promise<SourceSide>, prefix: string) {
  const side = await makeSide();
  const sourceName = uniqueName(prefix).replaceAll('_', '-');
  const config = configFor(side, sourceName, {
    [`${side.schema}.customers`]: {
      exclude: ['ssn'],
      mask: { email: { hash: { secret: SECRET } }, notes: { truncate: NOTE_CHARS }, age: { redact: 3 } },
    },
    // A pattern adds its rule to the table's own.
    [`${side.schema}.cust*`]: { mask: { phone: 'redact' } },
  });
  const model = new Map<number, Customer>();
  const everWritten: Customer[] = [];
  const write = (rows: readonly Customer[]) => {
    for (const row of rows) model.set(row.id, row);
    everWritten.push(...rows);
  };
  const snapshotRows = Array.from({ length: 20 }, (_, i) => customer(i + 1));
  await insert(side, snapshotRows);
  write(snapshotRows);

  const log: string[] = [];
  const pipeline = await start(sourceName, config, log);
  const replicaEquals = async (when: string) => {
    const expected = JSON.stringify([...model.values()].sort((a, b) => a.id - b.id).map(masked));
    let seen = '';
    await waitFor(
      `the replica to hold the masked rows ${when}`,
      async () => {
        seen = JSON.stringify(await side.replicaRows().catch((error: unknown) => String(error)));
        return seen === expected;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    ).catch(() =>
      assert.fail(`${when}: the replica holds ${seen.slice(0, 300)}; ${describeParts(pipeline)}`),
    );
  };
  await replicaEquals('after the snapshot');
  assert.deepEqual(await side.replicaColumns(), ['id', 'name', 'email', 'phone', 'notes', 'age']);

  await side.refuseUpdateOf(REFUSED_ID);
  const inserted = Array.from({ length: 5 }, (_, i) => customer(21 + i));
  await insert(side, inserted);
  write(inserted);
  const updated = [1, 2, REFUSED_ID, 4, 5].map((id) => customer(id, 1));
  for (const row of updated)
    await side.write('UPDATE customers SET email = $1, phone = $2, notes = $3, ssn = $4 WHERE id = $5', [
      row.email,
      row.phone,
      row.notes,
      row.ssn,
      row.id,
    ]);
  write(updated.filter((row) => row.id !== REFUSED_ID));
  everWritten.push(updated[2]!);
  for (const id of [6, 7, 8]) {
    await side.write('DELETE FROM customers WHERE id = $1', [id]);
    model.delete(id);
  }
  await replicaEquals('after streaming');

  const topics = connectorTopics(sourceName, sourceName);
  const end = Number(await topicEnd(topics.changelog));
  assert.ok(end >= 20 + 5 + 5 + 3, `the changelog holds every change (end offset ${end})`);
  const secrets = everWritten.flatMap(originals);
  const changelog = await readRaw(topics.changelog, (messages) => messages.length >= 33);
  const changelogBytes = recordBytes(changelog);
  assertNoneIn('the changelog', changelogBytes, secrets);
  // Hashed before-images: the refused update's old and new e-mail both travel, hashed.
  for (const row of [customer(REFUSED_ID), updated[2]!])
    assert.ok(changelogBytes.includes(masked(row).email), `the hash of ${row.email} is in the changelog`);
  const schemas = recordBytes(await readRaw(topics.schemas, (messages) => messages.length >= 1));
  assertNoneIn('the schema topic', schemas, [...secrets, 'ssn']);
  assertNoneIn(
    'the dead-letter topic',
    recordBytes(await readRaw(topics.deadLetter, (m) => m.length >= 1)),
    secrets,
  );
  assertNoneIn('the log', log.join('\n'), [...secrets, SECRET]);

  // Verify compares what leaves the source as it is, and says what it passed over.
  const report = await verifyReplica(config, { replica: 'copy' });
  assert.equal(report.equal, true, JSON.stringify(report));
  assert.deepEqual(report.tables[0]?.columnsNotCompared, ['email', 'phone', 'notes', 'ssn', 'age']);
}

/** A rule on the key column: capture stops with the setting named, and nothing of the table is published. */
async function keyRuleRefused(makeSide: () => Promise<SourceSide>, prefix: string) {
  const side = await makeSide();
  await insert(side, [customer(1)]);
  const sourceName = uniqueName(prefix).replaceAll('_', '-');
  const config = configFor(side, sourceName, {
    [`${side.schema}.customers`]: { mask: { id: { hash: { secret: SECRET } } } },
  });
  const pipeline = await start(sourceName, config, []);
  let error = '';
  await waitFor('capture to fail on the key column rule', () => {
    const [connector] = pipeline.connectors();
    error = connector?.lastError ?? '';
    return connector?.state === 'failed';
  });
  assert.match(error, /columns\["[^"]+\.customers"\]\.mask\.id: id is a key column/);
  assert.equal(await topicEnd(connectorTopics(sourceName, sourceName).changelog), 0n);
}

void describe('column filters and masks at capture', () => {
  void test('PostgreSQL source: nothing masked or left out reaches Kafka or the log; the replica holds the masked values', () =>
    maskedPipeline(postgresSide, 'maskpg'));
  void test('MariaDB source: nothing masked or left out reaches Kafka or the log; the replica holds the masked values', () =>
    maskedPipeline(mariadbSide, 'maskmdb'));
  void test('PostgreSQL source: a rule on a key column stops capture naming it, before anything is published', () =>
    keyRuleRefused(postgresSide, 'maskkey'));
});
