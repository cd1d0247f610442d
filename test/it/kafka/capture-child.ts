/**
 * A capture process for the crash test: publishes the generated stream of `total` events for `connector` and
 * exits 0 when all of it is published. The test kills it with SIGKILL at random points and starts it again.
 * Usage: node test/it/kafka/capture-child.ts <prefix> <connector> <total>
 */
import { ChangePublisher } from '../../../services/kafka/publisher.ts';
import { createLogger } from '../../../common/logger.ts';
import { stack } from '../../support/stack.ts';
import { GeneratedSource } from './generator.ts';

const [prefix, connector, total] = process.argv.slice(2);
if (prefix === undefined || connector === undefined || total === undefined) {
  throw new Error('usage: capture-child.ts <prefix> <connector> <total>');
}
const logger = createLogger({ name: 'capture-child', level: 'warn' });
const publisher = new ChangePublisher({ brokers: stack.kafkaBrokers, prefix, connector, logger });
const source = new GeneratedSource(connector, Number(total), 5);
process.stdout.write('started\n');
await publisher.run(source, new AbortController().signal);
process.stdout.write(`done ${JSON.stringify(publisher.status())}\n`);
