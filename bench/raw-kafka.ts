/** Kafka's raw limit for this machine: kafkajs producing `count` messages of `bytes` each, idempotent, in batches. */
import { Kafka, logLevel } from 'kafkajs';

export async function produceRaw(
  brokers: readonly string[],
  topic: string,
  count: number,
  bytes: number,
): Promise<number> {
  const kafka = new Kafka({ brokers: [...brokers], clientId: 'bench-raw', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const value = Buffer.alloc(bytes, 7);
  const started = performance.now();
  try {
    for (let sent = 0; sent < count; sent += 5_000) {
      const messages = [];
      for (let i = sent; i < Math.min(count, sent + 5_000); i++) messages.push({ key: String(i), value });
      await producer.send({ topic, acks: -1, messages });
    }
    return (performance.now() - started) / 1000;
  } finally {
    await producer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteTopics({ topics: [topic] });
    await cleanup.disconnect();
  }
}
