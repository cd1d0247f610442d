/**
 * Raw limits measured in the same run as the pipeline, so the benchmark reports ratios rather than bare
 * numbers: how fast PostgreSQL's walsender hands out pgoutput (pg_recvlogical draining to a file), and how fast
 * the replica accepts the same rows through COPY.
 */
import { spawn } from 'node:child_process';
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
