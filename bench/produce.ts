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
import { createKafka } from '../services/kafka/client.ts';
import { benchEnv } from './env.ts';

const rows = Number(process.env.BENCH_ROWS ?? 200_000);
const TRANSACTION = 5_000;

interface Client {
  readonly name: string;
  readonly variant: 'kafkajs' | 'kafkajs-encoded' | 'platformatic';
  /** Messages per send: 500 is what the publisher sends (services/kafka/publisher.ts). */
  readonly sendSize: number;
}

const clients: readonly Client[] = [
  { name: 'kafkajs 2.2.4 as the publisher uses it', variant: 'kafkajs', sendSize: 500 },
  { name: 'kafkajs + our record encoding', variant: 'kafkajs-encoded', sendSize: 500 },
  // 2,500 capture messages make a record batch of about 500 KB, under the broker's 1 MiB message.max.bytes.
  { name: 'kafkajs + our record encoding, 2,500 per send', variant: 'kafkajs-encoded', sendSize: 2500 },
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

function runClient(client: Client, topic: string): Promise<{ seconds: number; peakRssMb: number }> {
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
      else resolve(JSON.parse(output.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number });
    });
  });
}

const kafka = createKafka({ brokers: benchEnv.brokers, clientId: 'bench-produce' });
const admin = kafka.admin();
await admin.connect();
const version = platformaticVersion();
const table: string[][] = [];
let baseline: number | null = null;
try {
  for (const client of clients) {
    if (client.variant === 'platformatic' && version === null) {
      table.push([client.name, 'not installed (npm install --no-save @platformatic/kafka)', '', '', '']);
      continue;
    }
    const topic = `bench-produce-${randomUUID().slice(0, 8)}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    try {
      const { seconds, peakRssMb } = await runClient(client, topic);
      const [end] = await admin.fetchTopicOffsets(topic);
      const expected = rows + Math.ceil(rows / TRANSACTION);
      if (Number(end?.high) !== expected)
        throw new Error(`${client.name}: end offset ${end?.high}, not ${expected}`);
      const rate = rows / seconds;
      baseline ??= rate;
      const name =
        client.variant === 'platformatic' ? client.name.replace('kafka', `kafka ${version}`) : client.name;
      table.push([
        name,
        String(client.sendSize),
        Math.round(rate).toLocaleString('en-US'),
        `${(rate / baseline).toFixed(2)}x`,
        String(peakRssMb),
      ]);
    } finally {
      await admin.deleteTopics({ topics: [topic] });
    }
  }
} finally {
  await admin.disconnect();
}

const header = ['client', 'messages per send', 'messages/s', 'vs kafkajs', 'peak RSS MB'];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((line) => line[i]!.length)));
const print = (cells: readonly string[]): void =>
  console.log(`| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`);
console.log(
  `\nProduce of ${rows.toLocaleString('en-US')} capture-shaped messages, transactions of ${TRANSACTION.toLocaleString('en-US')}, acks all, one partition (node ${process.version}):\n`,
);
print(header);
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const line of table) print(line);
