/**
 * Reading a topic as any Kafka client would, with none of our decoding: the raw records (key, value, headers)
 * of every committed message, from the beginning, until `enough` says so.
 */
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { stack, uniqueName } from './stack.ts';
import { waitFor } from './wait.ts';

export async function readRaw(
  topic: string,
  enough: (messages: readonly KafkaMessage[]) => boolean,
  timeoutMs = 60_000,
  brokers: readonly string[] = stack.kafkaBrokers,
): Promise<KafkaMessage[]> {
  const kafka = new Kafka({
    brokers: [...brokers],
    clientId: 'test-raw-reader',
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: uniqueName('test-raw'), readUncommitted: false });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        messages.push(message);
        return Promise.resolve();
      },
    });
    await waitFor(`messages of ${topic} (have ${messages.length})`, () => enough(messages), { timeoutMs });
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** A header's text, whether kafkajs handed it over as a Buffer or a string. */
export function headerText(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : undefined;
}
