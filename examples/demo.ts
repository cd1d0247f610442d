/**
 * The demo pipeline anyone can watch (README's first command runs it): a small shop schema on the local
 * stack's source database, the pipeline of examples/demo-postgres.yaml, and a writer that keeps changing the
 * shop; every two seconds a line compares the source with the replica and shows the lag.
 * Stops on Ctrl-C, or after DEMO_SECONDS when set.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createLogger } from '../common/logger.ts';
import { loadConfig } from '../services/config/load.ts';
import { startPipeline } from '../services/pipeline/pipeline.ts';

const configPath = process.argv[2] ?? new URL('./demo-postgres.yaml', import.meta.url).pathname;
const config = await loadConfig(configPath);
const [source, replica] = [config.sources[0], config.replicas[0]];
if (source?.kind !== 'postgres' || replica === undefined)
  throw new Error(`${configPath}: the demo needs a PostgreSQL source and a replica`);

const SHOP = `
  CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz(6) NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id),
    amount numeric(10,2) NOT NULL, status text NOT NULL DEFAULT 'new', created_at timestamptz(6) NOT NULL DEFAULT now());
  INSERT INTO customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 50) g
    WHERE NOT EXISTS (SELECT 1 FROM customers);`;

const sourceDb = new pg.Pool({ connectionString: source.url, max: 2 });
const replicaDb = new pg.Pool({ connectionString: replica.url, max: 2 });
await sourceDb.query(SHOP);

const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'demo' });
const pipeline = await startPipeline(config, logger);
console.log(
  `Demo pipeline "${config.name}" running. Status: ${pipeline.apiUrl}/status   Metrics: ${pipeline.apiUrl}/metrics`,
);
console.log('Writing to the source; each line compares source and replica. Ctrl-C stops.\n');

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
const seconds = Number(process.env.DEMO_SECONDS ?? 0);
if (seconds > 0) setTimeout(() => stop.abort(), seconds * 1000).unref();

async function write(): Promise<void> {
  const roll = Math.random();
  if (roll < 0.5) {
    await sourceDb.query(
      `INSERT INTO orders (customer_id, amount) SELECT id, round((random() * 500)::numeric, 2) FROM customers ORDER BY random() LIMIT 1`,
    );
  } else if (roll < 0.8) {
    await sourceDb.query(
      `UPDATE orders SET status = (ARRAY['paid','shipped','returned'])[1 + floor(random() * 3)::int] WHERE id = (SELECT id FROM orders ORDER BY random() LIMIT 1)`,
    );
  } else if (roll < 0.9) {
    await sourceDb.query(`DELETE FROM orders WHERE id = (SELECT min(id) FROM orders)`);
  } else {
    await sourceDb.query(
      `UPDATE customers SET email = 'x' || floor(random() * 1e6) || '@example.com', updated_at = now() WHERE id = 1 + floor(random() * 50)::int`,
    );
  }
}

async function counts(pool: pg.Pool): Promise<string> {
  try {
    const r = await pool.query<{ c: string; o: string }>(
      `SELECT (SELECT count(*) FROM customers) AS c, (SELECT count(*) FROM orders) AS o`,
    );
    return `${r.rows[0]?.c} customers, ${r.rows[0]?.o} orders`;
  } catch {
    return 'tables not created yet';
  }
}

let lastReport = 0;
while (!stop.signal.aborted) {
  await write();
  if (Date.now() - lastReport >= 2000) {
    lastReport = Date.now();
    const worker = pipeline.workers()[0];
    const connector = pipeline.connectors()[0];
    console.log(
      `source: ${await counts(sourceDb)} | replica: ${await counts(replicaDb)} | ` +
        `capture ${connector?.state ?? '?'}, apply ${worker?.state ?? '?'} at ${worker?.appliedPosition ?? '-'}, lag ${worker?.lagMillis ?? '-'} ms`,
    );
  }
  await delay(200, undefined, { signal: stop.signal }).catch(() => undefined);
}
await pipeline.stop();
await sourceDb.end();
await replicaDb.end();
console.log('Demo stopped; the stack keeps running (npm run stack:down stops it).');
