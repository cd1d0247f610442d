/**
 * `npm run bench:peer`: our capture and Debezium Server's, side by side on the same pre-written rows of
 * PostgreSQL and of MariaDB, into the same Kafka: rows/s, time to the first event, peak RSS, the ratios and
 * each side's delivery guarantee, then the Debezium settings used. BENCH_ROWS sets the row count (default
 * 1,000,000), BENCH_ONLY=postgres|mariadb runs one source. Fetches Debezium Server (~780 MB) the first time
 * (stack/debezium-server.sh). Needs the local stack (`npm run stack:up`).
 */
import { execFileSync } from 'node:child_process';
import { createLogger } from '../../common/logger.ts';
import { benchEnv } from '../env.ts';
import { printTable, rate } from '../table.ts';
import { DEBEZIUM_CONFIGURATIONS, DEBEZIUM_HEAP, printable, type Settings } from './debezium-settings.ts';
import { peerMariadb } from './mariadb-peer.ts';
import type { PeerComparison } from './peer-runs.ts';
import { peerPostgres } from './postgres-peer.ts';

const SCRIPT = new URL('../../stack/debezium-server.sh', import.meta.url).pathname;
const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const only = process.env.BENCH_ONLY;
const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench-peer' });

execFileSync('bash', [SCRIPT, 'install'], { stdio: 'inherit' });
const server = execFileSync('bash', [SCRIPT, 'describe'], { encoding: 'utf8' }).trim();

const comparisons: PeerComparison[] = [];
if (only !== 'mariadb') comparisons.push(await peerPostgres(benchEnv, rows, logger));
if (only !== 'postgres') comparisons.push(await peerMariadb(benchEnv, rows, logger));

console.log(
  `\nCapture (source → Kafka) of ${rows.toLocaleString('en-US')} pre-written rows, ours (node ${process.version}) and ${server}:\n`,
);
printComparisons(comparisons);
console.log(`
Delivery: Debezium Server's Kafka sink is at least once: after a crash it sends again what followed its last
stored offset. Ours is exactly once: each run of batches is one Kafka transaction (AddPartitionsToTxn,
AddOffsetsToTxn, TxnOffsetCommit and EndTxn are round trips it adds to the produce requests, and the broker
writes a commit marker), and the source is acknowledged only after the commit. The count of transactions is
in the table. "rows/s after it" leaves out the start (for Debezium Server mostly the JVM's), which weighs
on short runs; the ratios are of the whole run, start included.`);
printSettings(comparisons);

function printComparisons(results: readonly PeerComparison[]): void {
  const header = [
    'source',
    'capture',
    'seconds',
    'rows/s',
    'first event s',
    'rows/s after it',
    'peak RSS MB',
    'ours ÷ theirs rows/s',
    'ours ÷ theirs RSS',
    'delivery',
  ];
  const lines: string[][] = [];
  for (const { source, ours, theirs } of results) {
    const own = ours.capture;
    lines.push([
      source,
      'ours',
      own.seconds.toFixed(1),
      rate(own.rows, own.seconds),
      own.firstEventSeconds.toFixed(2),
      rate(own.rows, own.seconds - own.firstEventSeconds),
      String(own.peakRssMb),
      '',
      '',
      `exactly once (${ours.transactions.toLocaleString('en-US')} Kafka transactions)`,
    ]);
    for (const { run, result } of theirs) {
      const duplicates = result.records - result.rows;
      lines.push([
        source,
        `Debezium Server: ${run.configuration.name}`,
        result.seconds.toFixed(1),
        rate(result.rows, result.seconds),
        result.firstEventSeconds.toFixed(2),
        rate(result.rows, result.seconds - result.firstEventSeconds),
        String(result.peakRssMb),
        `${(result.seconds / own.seconds).toFixed(2)}×`,
        `${(own.peakRssMb / result.peakRssMb).toFixed(2)}×`,
        duplicates > 0 ? `at least once (${duplicates} duplicates)` : 'at least once',
      ]);
    }
  }
  printTable(header, lines);
}

function printSettings(results: readonly PeerComparison[]): void {
  console.log(
    `\nDebezium Server settings (JVM ${DEBEZIUM_HEAP}, --add-opens=java.base/java.lang=ALL-UNNAMED; every run also
listens on quarkus.http.host=127.0.0.1 and a free quarkus.http.port; for MariaDB, its first run before the rows
are written sets debezium.source.offset.flush.interval.ms=0):`,
  );
  for (const { source, theirs } of results) {
    const first = theirs[0]?.run;
    if (first === undefined) continue;
    const own = new Set(Object.keys(first.configuration.settings));
    const shared: Settings = Object.fromEntries(
      Object.entries(first.settings).filter(([key]) => !own.has(key)),
    );
    console.log(`\n${source}, every configuration (names of the first run):`);
    for (const line of printable(shared)) console.log(`  ${line}`);
  }
  for (const configuration of DEBEZIUM_CONFIGURATIONS) {
    const lines = printable(configuration.settings);
    console.log(`\n${configuration.name}:${lines.length === 0 ? ' nothing more (its defaults)' : ''}`);
    for (const line of lines) console.log(`  ${line}`);
  }
}
