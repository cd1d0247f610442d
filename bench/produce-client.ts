/**
 * One client of `npm run bench:produce`, run in a process of its own (our kafkajs encoding is installed
 * process-wide, and each client's memory should be its own): produces `count` capture-shaped messages to an
 * existing one-partition topic, idempotent and transactional with acks all, `TRANSACTION` messages per
 * transaction, and prints `{ seconds, peakRssMb, cpuMicrosPerMessage }` as JSON.
 *
 * node bench/produce-client.ts <kafkajs|kafkajs-encoded|platformatic> <brokers> <topic> <count> <send size>
 */
import { randomBytes } from 'node:crypto';
import type * as KafkaJs from 'kafkajs';

const [variant, brokerList, topic, countText, sendText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const brokers = brokerList.split(',');
const count = Number(countText);
const sendSize = Number(sendText);
const TRANSACTION = 5_000;

interface CaptureMessage {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/** What capture sends for one row change: an Avro key and a ~120-byte Avro value, and its four headers. */
function messages(from: number, to: number): CaptureMessage[] {
  const pool = randomBytes(4096);
  const result: CaptureMessage[] = [];
  for (let i = from; i < to; i++) {
    const key = Buffer.allocUnsafe(6);
    key.writeUIntBE(i, 0, 6);
    const at = i % 3900;
    result.push({
      key,
      value: Buffer.from(pool.subarray(at, at + 120)),
      headers: {
        'cdc.position': `0/${(0x1a2b000 + i * 97).toString(16).toUpperCase()}:${i % 5000}`,
        'cdc.table': 'public.bench_rows',
        'cdc.op': 'c',
        'cdc.tx': String(48_213 + Math.floor(i / TRANSACTION)),
      },
    });
  }
  return result;
}

function slices<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** kafkajs as it is, or as services/kafka loads it: linear grouping and our record encoding. */
async function loadKafkajs(): Promise<typeof KafkaJs> {
  // kafkajs is CommonJS: its exports are the default export of the ESM import.
  if (variant === 'kafkajs')
    return ((await import('kafkajs')) as unknown as { default: typeof KafkaJs }).default;
  return (await import('../services/kafka/kafkajs.ts')).default;
}

/** kafkajs with the publisher's producer settings (services/kafka/publisher.ts). */
async function withKafkajs(): Promise<void> {
  const kafkajs = await loadKafkajs();
  const kafka = new kafkajs.Kafka({
    brokers,
    clientId: `bench-${variant}`,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const producer = kafka.producer({
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    transactionalId: `${topic}.${variant}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
  });
  await producer.connect();
  try {
    for (let sent = 0; sent < count; sent += TRANSACTION) {
      const batch = messages(sent, Math.min(count, sent + TRANSACTION)).map((m) => ({ ...m, partition: 0 }));
      const transaction = await producer.transaction();
      for (const chunk of slices(batch, sendSize))
        await transaction.send({ topic, acks: -1, messages: chunk });
      await transaction.commit();
    }
  } finally {
    await producer.disconnect();
  }
}

/** The part of @platformatic/kafka used here: loaded by name, since it is not a dependency of the project. */
interface PlatformaticTransaction {
  send(options: { messages: object[]; acks: number }): Promise<unknown>;
  commit(): Promise<void>;
}
interface PlatformaticProducer {
  beginTransaction(): Promise<PlatformaticTransaction>;
  close(): Promise<void>;
}
interface PlatformaticModule {
  Producer: new (options: object) => PlatformaticProducer;
  stringSerializer: (value?: string) => Buffer | undefined;
}

async function withPlatformatic(): Promise<void> {
  const name = '@platformatic/kafka';
  const { Producer, stringSerializer } = (await import(name)) as PlatformaticModule;
  const producer = new Producer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: brokers,
    transactionalId: `${topic}.${variant}`,
    idempotent: true,
    acks: -1,
    serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
  });
  try {
    for (let sent = 0; sent < count; sent += TRANSACTION) {
      const batch = messages(sent, Math.min(count, sent + TRANSACTION)).map((m) => ({
        ...m,
        topic,
        partition: 0,
      }));
      const transaction = await producer.beginTransaction();
      for (const chunk of slices(batch, sendSize)) await transaction.send({ messages: chunk, acks: -1 });
      await transaction.commit();
    }
  } finally {
    await producer.close();
  }
}

const started = performance.now();
if (variant === 'platformatic') await withPlatformatic();
else await withKafkajs();
const seconds = (performance.now() - started) / 1000;
const usage = process.resourceUsage();
const peakRssMb = Math.round(usage.maxRSS / 1024);
// CPU time per message varies less than wall time on a machine shared with other work.
const cpuMicrosPerMessage = (usage.userCPUTime + usage.systemCPUTime) / count;
console.log(JSON.stringify({ seconds, peakRssMb, cpuMicrosPerMessage }));
