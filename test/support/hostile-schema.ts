/**
 * Hostile schemas in the changelog: whoever can write to the changelog and schema topics chooses the table
 * descriptions an apply worker builds replica DDL from. The scenario publishes, through the ordinary publisher
 * (schema topic and changelog, as any writer with access could), one stream holding a healthy table's rows, a
 * table whose column type carries a second statement, and a table with a name past the target's limit, then
 * runs the replica's apply task as `cdc run` wires it, until the healthy rows and the dead letters are there.
 * Each target's test file supplies the target and checks what an operator would check.
 */
import assert from 'node:assert/strict';
import type { CaptureBatch, ConnectorStatus, SourceConnector } from '../../connectors/connector.ts';
import type { ChangeEvent } from '../../schemas/events/change-event.ts';
import type { ColumnSchema, TableSchema } from '../../schemas/events/table-schema.ts';
import type { CommitPosition } from '../../schemas/positions/position.ts';
import { createLogger } from '../../common/logger.ts';
import { parseConfig } from '../../services/config/load.ts';
import { ChangePublisher } from '../../services/kafka/publisher.ts';
import { ApplyTask } from '../../services/pipeline/apply-task.ts';
import { transaction, type Change } from '../unit/apply/events.ts';
import { deleteKafkaState, topicEnd } from './changelog.ts';
import { readDeadLetters, type DeadLetter } from './dead-letters.ts';
import { stack, uniqueName } from './stack.ts';
import { waitFor } from './wait.ts';

export interface HostileTarget {
  readonly kind: 'postgres' | 'mariadb';
  readonly url: string;
  /** The source dialect whose type texts the target declares verbatim. */
  readonly dialect: 'postgres' | 'mysql';
  /** The source schema (MariaDB: database) of every table. */
  readonly schema: string;
  /** Source types of the healthy table's key and text column, in the dialect's spelling. */
  readonly idType: string;
  readonly noteType: string;
  /** A column type that carries more than a type. */
  readonly hostileType: string;
  /** A column name past the target's identifier limit. */
  readonly overlongName: string;
  /** Healthy rows applied so far, read from the target. */
  healthyRows(): Promise<number>;
}

/** The healthy table's text column: quotes of every kind in a name are fine, as long as they are quoted. */
export const NOTE_COLUMN = 'it\'s the "note" `column`';

/** The healthy rows the scenario writes. */
export const HEALTHY_ROWS = 10;

/** Dead letters the scenario expects: the hostile table's insert and update, the overlong table's insert. */
export const EXPECTED_DEAD_LETTERS = 3;

/** Replays fixed source transactions once, like a source that has nothing more after them. */
class FixedSource implements SourceConnector {
  readonly name: string;
  readonly #transactions: readonly (readonly ChangeEvent[])[];

  constructor(name: string, transactions: readonly (readonly ChangeEvent[])[]) {
    this.name = name;
    this.#transactions = transactions;
  }

  async *stream(): AsyncIterable<CaptureBatch> {
    for (const events of this.#transactions) {
      yield { events, commit: events[0]!.source.position.commit };
      await Promise.resolve();
    }
  }

  acknowledge(_commit: CommitPosition): Promise<void> {
    return Promise.resolve();
  }

  status(): ConnectorStatus {
    return {
      name: this.name,
      kind: 'postgres',
      state: 'streaming',
      stream: 'fixed',
      confirmed: null,
      received: null,
      lagBytes: null,
      lagMillis: null,
      snapshot: null,
      lastError: null,
    };
  }

  requestSnapshot(): Promise<void> {
    return Promise.resolve();
  }
}

function table(target: HostileTarget, name: string, columns: readonly ColumnSchema[]): TableSchema {
  return {
    database: target.schema,
    schema: target.schema,
    table: name,
    dialect: target.dialect,
    columns,
    key: ['id'],
    beforeImage: 'full',
  };
}

/** The stream: healthy rows before, between and after the two hostile tables' changes. */
function sourceTransactions(target: HostileTarget, connector: string): ChangeEvent[][] {
  const id = (name = 'id'): ColumnSchema => ({
    name,
    type: { kind: 'int64' },
    sourceType: target.idType,
    nullable: false,
  });
  const note: ColumnSchema = {
    name: NOTE_COLUMN,
    type: { kind: 'string' },
    sourceType: target.noteType,
    nullable: true,
  };
  const good = table(target, 'good', [id(), note]);
  const evil = table(target, 'evil', [
    id(),
    { name: 'payload', type: { kind: 'int32' }, sourceType: target.hostileType, nullable: true },
  ]);
  const overlong = table(target, 'overlong', [
    id(),
    { name: target.overlongName, type: { kind: 'string' }, sourceType: target.noteType, nullable: true },
  ]);
  const goodRows = (from: number, to: number): Change[] =>
    Array.from({ length: to - from + 1 }, (_, n) => ({
      op: 'c' as const,
      table: good,
      after: { id: BigInt(from + n), [NOTE_COLUMN]: `row ${from + n}` },
    }));
  const changes: Change[][] = [
    goodRows(1, 3),
    [{ op: 'c', table: evil, after: { id: 1n, payload: 1 } }, ...goodRows(4, 5)],
    [{ op: 'u', table: evil, before: { id: 1n, payload: 1 }, after: { id: 1n, payload: 2 } }],
    goodRows(6, 7),
    [{ op: 'c', table: overlong, after: { id: 1n, [target.overlongName]: 'x' } }],
    goodRows(8, HEALTHY_ROWS),
  ];
  return changes.map((transactionChanges, n) =>
    transaction(0x1000n + 16n * BigInt(n), transactionChanges, { connector }),
  );
}

export interface HostileRun {
  readonly deadLetters: readonly DeadLetter[];
  /** The stream (source connector) the replica stored its applied position under. */
  readonly stream: string;
}

/** Publishes the stream, applies it with the replica's apply task, and returns the dead letters it wrote. */
export async function applyHostileStream(target: HostileTarget): Promise<HostileRun> {
  const prefix = uniqueName('hostile');
  const connector = uniqueName('src');
  const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector });
  const topics = publisher.topics;
  const config = parseConfig(
    JSON.stringify({
      name: prefix.replaceAll('_', '-'),
      kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix, sessionTimeoutMs: 6000 },
      // Never started: the apply task only needs its name, to find the changelog.
      sources: [{ name: connector, kind: 'postgres', url: stack.pgSourceUrl, slot: connector }],
      replicas: [{ name: 'replica', source: connector, kind: target.kind, url: target.url, origin: false }],
    }),
    'json',
  );
  const logger = createLogger({ level: process.env.CDC_TEST_LOG ?? 'silent' });
  const stop = new AbortController();
  let running: Promise<void> | null = null;
  try {
    await publisher.run(new FixedSource(connector, sourceTransactions(target, connector)), stop.signal);
    const task = new ApplyTask(config.replicas[0]!, config.kafka, logger);
    running = task.run(stop.signal);
    // The last healthy rows come after every hostile change in the stream, so the dead letters are written then.
    await waitFor(
      `${HEALTHY_ROWS} healthy rows on the ${target.kind} replica`,
      async () => (await target.healthyRows()) === HEALTHY_ROWS,
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    // Every dead letter there is (the topic exists only once one was written), so a run that wrote fewer or
    // none shows as such in the test's assertions.
    const written = Number(await topicEnd(topics.deadLetter));
    return {
      deadLetters: written === 0 ? [] : await readDeadLetters(topics.deadLetter, written),
      stream: connector,
    };
  } finally {
    stop.abort();
    await running;
    await publisher.close();
    await deleteKafkaState(
      [topics.changelog, topics.deadLetter, topics.schemas],
      [`${prefix}.capture.${connector}`, `${prefix}.apply.replica`],
    );
  }
}

/**
 * What the dead-letter topic must hold, as `cdc dlq list` shows it: the hostile table's insert and update, then
 * the overlong table's insert, each SCHEMA_REFUSED with a reason naming table, column and the refused text.
 */
export function assertRefusedLetters(
  run: HostileRun,
  target: HostileTarget,
  expected: { readonly typeWhy: string; readonly nameWhy: string },
): void {
  assert.equal(run.deadLetters.length, EXPECTED_DEAD_LETTERS, 'every change of the refused tables, once');
  const [insert, update, long] = run.deadLetters;
  assert.deepEqual(
    run.deadLetters.map((letter) => `${letter.table} ${letter.op} ${letter.code}`),
    [
      `${target.schema}.evil c SCHEMA_REFUSED`,
      `${target.schema}.evil u SCHEMA_REFUSED`,
      `${target.schema}.overlong c SCHEMA_REFUSED`,
    ],
  );
  for (const letter of [insert, update])
    assert.equal(
      letter?.reason,
      `table ${target.schema}.evil refused before any DDL: column "payload": type ${JSON.stringify(target.hostileType)} ${expected.typeWhy}`,
    );
  assert.equal(
    long?.reason,
    `table ${target.schema}.overlong refused before any DDL: column ${JSON.stringify(target.overlongName)}: name ${JSON.stringify(target.overlongName)} ${expected.nameWhy}`,
  );
}
