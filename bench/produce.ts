/**
 * `npm run bench:produce`: the Kafka produce path alone, side by side. Each client produces the same
 * BENCH_ROWS (default 200,000) capture-shaped messages (6-byte key, 120-byte value, the four cdc headers) to a
 * one-partition topic of its own, idempotent and transactional, acks all, 5,000 messages per transaction, in a
 * process of its own (bench/produce-client.ts). Each topic's end offset is checked afterwards: every message
 * plus one commit marker per transaction. @platformatic/kafka is not a dependency; its rows are skipped unless
 * it is installed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { createKafka } from '../services/kafka/client.ts';
import { benchEnv } from './env.ts';
import { waitFor } from '../test/support/wait.ts';

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
/** Rounds over every client, interleaved: the machine is shared, so each client's median round is reported. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const TRANSACTION = 5_000;

interface Client {
  readonly name: string;
  readonly variant: 'kafkajs' | 'kafkajs-encoded' | 'platformatic';
  /** Messages per send: 500 is what the publisher sends (services/kafka/publisher.ts). */
  readonly sendSize: number;
}

const clients: readonly Client[] = [
  { name: 'kafkajs 2.2.4 as the publisher uses it', variant: 'kafkajs', sendSize: 500 },
  { name: 'kafkajs + our record encoding and grouping', variant: 'kafkajs-encoded', sendSize: 500 },
  // 2,500 capture messages make a record batch of about 500 KB, under the broker's 1 MiB message.max.bytes.
  {
    name: 'kafkajs + our record encoding and grouping, 2,500 per send',
    variant: 'kafkajs-encoded',
    sendSize: 2500,
  },
  { name: '@platformatic/kafka', variant: 'platformatic', sendSize: 500 },
  { name: '@platformatic/kafka, 2,500 per send', variant: 'platformatic', sendSize: 2500 },
];

function platformaticVersion(): string | null {
  // Its package.json is not among its exports, so it is read as a file.
  const path = new URL('../node_modules/@platformatic/kafka/package.json', import.meta.url);
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

interface Measured {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly cpuMicrosPerMessage: number;
}

interface Run {
  readonly rate: number;
  readonly peakRssMb: number;
  readonly cpuMicrosPerMessage: number;
}

function runClient(client: Client, topic: string): Promise<Measured> {
  const args = [
    '--no-warnings',
    'bench/produce-client.ts',
    client.variant,
    benchEnv.brokers.join(','),
    topic,
  ];
  const child = spawn(process.execPath, [...args, String(rows), String(client.sendSize)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${client.name} exited with ${code}`));
      else resolve(JSON.parse(output.trim().split('\n').pop()!) as Measured);
    });
  });
}

/** Produces with `client` to a fresh topic and checks that every message arrived. */
async function measureOnce(admin: Admin, client: Client): Promise<Run> {
  const topic = `bench-produce-${randomUUID().slice(0, 8)}`;
  // kafkajs's waitForLeaders gives up when a loaded broker answers "unknown topic" for a moment: poll instead.
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
  await waitFor(`a leader for ${topic}`, async () => (await admin.fetchTopicOffsets(topic)).length === 1);
  try {
    const { seconds, peakRssMb, cpuMicrosPerMessage } = await runClient(client, topic);
    const [end] = await admin.fetchTopicOffsets(topic);
    const expected = rows + Math.ceil(rows / TRANSACTION);
    if (Number(end?.high) !== expected)
      throw new Error(`${client.name}: end offset ${end?.high}, not ${expected}`);
    return { rate: rows / seconds, peakRssMb, cpuMicrosPerMessage };
  } finally {
    await admin.deleteTopics({ topics: [topic] });
  }
}

const version = platformaticVersion();
const measured = clients.filter((client) => client.variant !== 'platformatic' || version !== null);
const runs = new Map<Client, Run[]>(measured.map((client) => [client, []]));
const admin = createKafka({ brokers: benchEnv.brokers, clientId: 'bench-produce' }).admin();
await admin.connect();
try {
  for (let round = 0; round < rounds; round++) {
    for (const client of measured) runs.get(client)!.push(await measureOnce(admin, client));
  }
} finally {
  await admin.disconnect();
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const baseline = median(runs.get(clients[0]!)!.map((run) => run.rate));
const baselineCpu = median(runs.get(clients[0]!)!.map((run) => run.cpuMicrosPerMessage));
const table = clients.map((client) => {
  const name =
    client.variant === 'platformatic' ? client.name.replace('kafka', `kafka ${version}`) : client.name;
  const results = runs.get(client);
  if (results === undefined)
    return [name, 'not installed (npm install --no-save @platformatic/kafka)', '', '', '', '', ''];
  const rate = median(results.map((run) => run.rate));
  const cpu = median(results.map((run) => run.cpuMicrosPerMessage));
  return [
    name,
    String(client.sendSize),
    Math.round(rate).toLocaleString('en-US'),
    results.map((run) => Math.round(run.rate / 1000)).join(' / '),
    `${(rate / baseline).toFixed(2)}x`,
    `${cpu.toFixed(1)} (${(baselineCpu / cpu).toFixed(2)}x)`,
    String(Math.max(...results.map((run) => run.peakRssMb))),
  ];
});

const header = [
  'client',
  'messages per send',
  'messages/s (median)',
  'rounds (k/s)',
  'vs kafkajs',
  'CPU µs/message (vs kafkajs)',
  'peak RSS MB',
];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((line) => line[i]!.length)));
const print = (cells: readonly string[]): void =>
  console.log(`| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`);
console.log(
  `\nProduce of ${rows.toLocaleString('en-US')} capture-shaped messages, transactions of ${TRANSACTION.toLocaleString('en-US')}, acks all, one partition, ${rounds} rounds (node ${process.version}):\n`,
);
print(header);
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const line of table) print(line);
