/**
 * `npm run bench:scale`: how the cost of PostgreSQL capture grows with the work. Each cell writes rows to a
 * fresh source (narrow rows, or wide ones: 20 columns with a 2 KB text; in one table or spread over several),
 * then times pg_recvlogical draining them and our capture publishing them to Kafka, and samples peak RSS. Each
 * cell runs in a process of its own, so one cell's heap does not count in the next one's peak.
 * BENCH_SCALE_ROWS (default "100000,1000000") sets the row counts; the table-count cells use the largest.
 */
import { fileURLToPath } from 'node:url';
import { answerIfChild, runApart } from './apart.ts';
import { createLogger } from '../common/logger.ts';
import { benchEnv } from './env.ts';
import { capturePostgres } from './postgres-bench.ts';
import { drainWithPgRecvlogical } from './raw-limits.ts';
import { printTable, rate } from './table.ts';
import type { TestDatabase } from '../test/support/pg.ts';

type Shape = 'narrow' | 'wide';

interface Cell {
  readonly shape: Shape;
  readonly rows: number;
  readonly tables: number;
}

interface CellResult extends Cell {
  readonly seconds: number;
  readonly rawSeconds: number;
  readonly peakRssMb: number;
}

const PUBLICATION = 'scale_pub';
const NARROW = `id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(12,2) NOT NULL, note text,
  flag boolean NOT NULL, created timestamptz(6) NOT NULL`;
const NARROW_ROW = `g, g % 1000, (g % 100000) / 100.0, 'note ' || g, g % 2 = 0,
  '2024-01-01'::timestamptz + g * interval '1 microsecond'`;
/** 20 columns: the key, 9 integers, 9 short texts and a 2 KB text (stored uncompressed, as md5 text hardly compresses). */
const WIDE = [
  'id bigint PRIMARY KEY',
  ...Array.from({ length: 9 }, (_, i) => `n${i} integer NOT NULL`),
  ...Array.from({ length: 9 }, (_, i) => `t${i} text NOT NULL`),
  'body text NOT NULL',
].join(', ');
const WIDE_ROW = [
  'g',
  ...Array.from({ length: 9 }, (_, i) => `(g * ${i + 3}) % 100000`),
  ...Array.from({ length: 9 }, (_, i) => `'value ${i} of ' || g`),
  'repeat(md5(g::text), 64)',
].join(', ');

function tableName(index: number): string {
  return `scale_rows_${index}`;
}

async function writeRows(source: TestDatabase, cell: Cell): Promise<void> {
  const perTransaction = cell.shape === 'wide' ? 2_000 : 10_000;
  const row = cell.shape === 'wide' ? WIDE_ROW : NARROW_ROW;
  for (let start = 1; start <= cell.rows; start += perTransaction) {
    const end = Math.min(cell.rows, start + perTransaction - 1);
    // Each transaction writes to every table (one statement, a data-modifying CTE a table), so the stream
    // interleaves them all along as an application's would.
    const share = Math.ceil((end - start + 1) / cell.tables);
    const inserts: string[] = [];
    for (let i = 0, from = start; from <= end; i++, from += share) {
      const to = Math.min(end, from + share - 1);
      inserts.push(
        `w${i} AS (INSERT INTO ${tableName(i)} SELECT ${row} FROM generate_series(${from}::bigint, ${to}::bigint) g)`,
      );
    }
    await source.query(`WITH ${inserts.join(', ')} SELECT 1`);
  }
}

async function runCell(cell: Cell): Promise<CellResult> {
  const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });
  const source = await benchEnv.createPgDatabase('scale_src');
  const slot = `${source.name}_slot`;
  const rawSlot = `${source.name}_raw`;
  try {
    const tables = Array.from({ length: cell.tables }, (_, i) => tableName(i));
    for (const table of tables)
      await source.query(`CREATE TABLE ${table} (${cell.shape === 'wide' ? WIDE : NARROW})`);
    if (cell.shape === 'wide')
      for (const table of tables) await source.query(`ALTER TABLE ${table} ALTER body SET STORAGE EXTERNAL`);
    await source.query(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${tables.join(', ')}`);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [rawSlot]);
    await writeRows(source, cell);
    const endLsn = String(
      (await source.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0]?.lsn,
    );
    const rawSeconds = await drainWithPgRecvlogical({
      url: source.url,
      slot: rawSlot,
      publication: PUBLICATION,
      endLsn,
    });
    const prefix = `scale-${source.name.slice(-6)}`;
    const { capture } = await capturePostgres(benchEnv, source, slot, prefix, cell.rows, logger, {
      published: { publication: PUBLICATION, tables: tables.map((table) => `public.${table}`) },
    });
    return { ...cell, seconds: capture.seconds, rawSeconds, peakRssMb: capture.peakRssMb };
  } finally {
    await source
      .query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ($1, $2)`,
        [slot, rawSlot],
      )
      .catch(() => undefined);
    await source.drop();
  }
}

const CELL_VARIABLE = 'BENCH_SCALE_CELL';
if (!(await answerIfChild(CELL_VARIABLE, runCell))) {
  const counts = (process.env.BENCH_SCALE_ROWS ?? '100000,1000000').split(',').map(Number);
  const largest = Math.max(...counts);
  const cells: Cell[] = [
    ...counts.map((rows) => ({ shape: 'narrow' as const, rows, tables: 1 })),
    ...counts.map((rows) => ({ shape: 'wide' as const, rows, tables: 1 })),
    { shape: 'narrow', rows: largest, tables: 10 },
    { shape: 'narrow', rows: largest, tables: 100 },
  ];
  const results: CellResult[] = [];
  for (const cell of cells) {
    console.error(
      `scale: ${cell.shape} rows, ${cell.rows.toLocaleString('en-US')} in ${cell.tables} table(s)`,
    );
    results.push(await runApart<Cell, CellResult>(fileURLToPath(import.meta.url), CELL_VARIABLE, cell));
  }
  console.log(`\nPostgreSQL → Kafka as the work grows (node ${process.version}):\n`);
  printTable(
    ['rows', 'shape', 'tables', 'seconds', 'rows/s', 'pg_recvlogical rows/s', 'ratio', 'peak RSS MB'],
    results.map((r) => [
      r.rows.toLocaleString('en-US'),
      r.shape === 'wide' ? 'wide (20 columns, 2 KB text)' : 'narrow (6 columns)',
      String(r.tables),
      r.seconds.toFixed(1),
      rate(r.rows, r.seconds),
      rate(r.rows, r.rawSeconds),
      `${((r.rawSeconds / r.seconds) * 100).toFixed(0)}%`,
      String(r.peakRssMb),
    ]),
  );
}
