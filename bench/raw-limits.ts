/**
 * Raw limits measured in the same run as the pipeline, so the benchmark reports ratios rather than bare
 * numbers: how fast PostgreSQL's walsender hands out pgoutput (pg_recvlogical draining to a file), and how fast
 * the replica accepts the same rows through COPY.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { devNull } from 'node:os';

const PG_BIN = process.env.CDC_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Drains `slot` with pg_recvlogical up to `endLsn`; returns seconds taken. */
export async function drainWithPgRecvlogical(options: {
  url: string;
  slot: string;
  publication: string;
  endLsn: string;
}): Promise<number> {
  const started = performance.now();
  await run(`${PG_BIN}/pg_recvlogical`, [
    '--dbname',
    options.url,
    '--slot',
    options.slot,
    '--start',
    '--endpos',
    options.endLsn,
    '--no-loop',
    '-o',
    'proto_version=1',
    '-o',
    `publication_names=${options.publication}`,
    '-f',
    devNull,
  ]);
  return (performance.now() - started) / 1000;
}

/** Reads every row of `table` out with psql's COPY TO STDOUT, the fastest way rows leave PostgreSQL; seconds. */
export async function copyOut(url: string, table: string): Promise<number> {
  const started = performance.now();
  await run(`${PG_BIN}/psql`, [
    '--dbname',
    url,
    '--no-psqlrc',
    '--quiet',
    '--command',
    `COPY ${table} TO STDOUT`,
  ]);
  return (performance.now() - started) / 1000;
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

/** The replica's raw write rate: the same rows through 5,000-row INSERT … SELECT FROM unnest(...). */
export async function insertRaw(url: string, rows: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `CREATE TABLE raw_rows (id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(12,2) NOT NULL, note text, flag boolean NOT NULL, created timestamptz(6) NOT NULL)`,
    );
    const started = performance.now();
    for (let start = 1; start <= rows; start += 5_000) {
      const ids: string[] = [];
      for (let id = start; id < start + 5_000 && id <= rows; id++) ids.push(String(id));
      await client.query(
        `INSERT INTO raw_rows SELECT id, id % 1000, (id % 100000) / 100.0, 'note ' || id, id % 2 = 0, now() FROM unnest($1::bigint[]) AS id`,
        [ids],
      );
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
  }
}
