/**
 * Reading a dead-letter topic back as an operator would: each dead letter's reason, table and operation, from
 * the headers the apply worker wrote (services/kafka/dead-letter.ts).
 */
import { Kafka, logLevel } from 'kafkajs';
import { stack, uniqueName } from './stack.ts';
import { waitFor } from './wait.ts';

export interface DeadLetter {
  readonly table: string;
  readonly op: string;
  readonly reason: string;
  readonly code: string;
}

function header(headers: Record<string, unknown> | undefined, name: string): string {
  const value = headers?.[name];
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : '';
}

/** The first `count` dead letters of `topic`, in order; fails when fewer arrive within the time limit. */
export async function readDeadLetters(
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<DeadLetter[]> {
  const kafka = new Kafka({
    brokers: stack.kafkaBrokers,
    clientId: 'test-dead-letters',
    logLevel: logLevel.NOTHING,
  });
  const groupId = uniqueName('test-dlq-readback');
  const consumer = kafka.consumer({ groupId });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers = message.headers as Record<string, unknown> | undefined;
        letters.push({
          table: header(headers, 'cdc.table'),
          op: header(headers, 'cdc.op'),
          reason: header(headers, 'cdc.dlq.reason'),
          code: header(headers, 'cdc.dlq.error.code'),
        });
        return Promise.resolve();
      },
    });
    await waitFor(`${count} dead letters in ${topic}`, () => letters.length >= count, {
      timeoutMs,
      intervalMs: 200,
    });
  } finally {
    await consumer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
  return letters.slice(0, count);
}
