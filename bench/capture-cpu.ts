/**
 * CPU per row of capture's own encoding, without a database or broker: events shaped like the PostgreSQL bench
 * table's (bench/postgres-bench.ts) through CaptureRun (Avro value and key, headers) and the Produce request
 * encoding, in transactions of 10,000 rows. BENCH_ROWS (default 200,000) rows a round, BENCH_ROUNDS (default 5)
 * rounds; prints the CPU µs per row of each round and their median. Run it with `node --cpu-prof` to profile.
 */
import type { ChangeEvent } from '../schemas/events/change-event.ts';
import type { TableSchema } from '../schemas/events/table-schema.ts';
import { lsnFromBigInt } from '../schemas/positions/lsn.ts';
import { CaptureRun, chunks } from '../services/kafka/capture-run.ts';
import { encodeProduceRequest } from '../services/kafka/produce-request.ts';

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const perTransaction = 10_000;

const column = (
  name: string,
  type: TableSchema['columns'][number]['type'],
  sourceType: string,
  nullable = true,
) => ({
  name,
  type,
  sourceType,
  nullable,
});

const table: TableSchema = {
  database: 'bench',
  schema: 'public',
  table: 'bench_rows',
  dialect: 'postgres',
  key: ['id'],
  beforeImage: 'key',
  columns: [
    column('id', { kind: 'int64' }, 'int8', false),
    column('account', { kind: 'int32' }, 'int4', false),
    column('amount', { kind: 'decimal', precision: 12, scale: 2 }, 'numeric(12,2)', false),
    column('note', { kind: 'text' }, 'text'),
    column('flag', { kind: 'boolean' }, 'bool', false),
    column('created', { kind: 'timestamptz' }, 'timestamptz(6)', false),
  ],
};

/** A transaction's events as the PostgreSQL connector hands them over: one commit object shared by all. */
function transaction(first: number, count: number, lsn: bigint): ChangeEvent[] {
  const commit = { kind: 'pg' as const, lsn: lsnFromBigInt(lsn) };
  const txId = String(1000 + first);
  const events: ChangeEvent[] = [];
  for (let i = 0; i < count; i++) {
    const g = first + i;
    events.push({
      op: 'c',
      table,
      before: null,
      after: {
        id: BigInt(g),
        account: g % 1000,
        amount: ((g % 100000) / 100).toFixed(2),
        note: `note ${g}`,
        flag: g % 2 === 0,
        created: `2024-01-01 00:00:00.${String(g % 1_000_000).padStart(6, '0')}+00`,
      },
      source: {
        connector: 'bench',
        position: { commit, index: i },
        txId,
        commitTimeMicros: 1_700_000_000_000_000n + BigInt(g),
        origin: null,
        snapshot: false,
      },
      transaction: { id: txId, index: i, total: count },
    });
  }
  return events;
}

function round(lsnBase: bigint): number {
  // Events are built outside the measured part: the connector's share is not what this measures.
  const batches: ChangeEvent[][] = [];
  for (let first = 1; first <= rows; first += perTransaction)
    batches.push(transaction(first, Math.min(perTransaction, rows - first + 1), lsnBase + BigInt(first)));
  const started = process.cpuUsage();
  let run = new CaptureRun({ position: null, state: null }, () => true);
  for (const events of batches) {
    run.add({ events, commit: events[0]!.source.position.commit }, Date.now());
    for (const chunk of chunks(run.messages, 1_000_000, 2_000)) {
      const body = encodeProduceRequest(
        {
          transactionalId: 'bench',
          acks: -1,
          timeout: 30_000,
          producerId: '1000',
          producerEpoch: 0,
          topicData: [{ topic: 'bench.changelog', partitions: [{ partition: 0, messages: chunk }] }],
        },
        Date.now(),
      );
      if (body === null) throw new Error('not encoded');
    }
    run = run.next();
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / rows;
}

const figures: number[] = [];
for (let r = 0; r < rounds; r++) {
  const perRow = round(BigInt(r) * 10_000_000n + 0x1_0000_0000n);
  figures.push(perRow);
  console.log(`round ${r + 1}: ${perRow.toFixed(2)} CPU µs/row`);
}
const sorted = [...figures].sort((a, b) => a - b);
console.log(
  `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} CPU µs/row over ${rounds} rounds of ${rows} rows`,
);
