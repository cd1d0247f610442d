/** Where the benchmark runs: the local stack (same addresses as stack/env.sh), with throwaway databases. */
import { createDatabase, type TestDatabase } from '../test/support/pg.ts';
import { stack } from '../test/support/stack.ts';

export interface BenchEnv {
  readonly brokers: readonly string[];
  /** BENCH_CAPTURE_ONLY=1: only the stages into Kafka (capture, snapshot), no apply stage. */
  readonly captureOnly: boolean;
  readonly mariadbUrl: string;
  createPgDatabase(prefix: string): Promise<TestDatabase>;
}

export const benchEnv: BenchEnv = {
  brokers: stack.kafkaBrokers,
  captureOnly: process.env.BENCH_CAPTURE_ONLY === '1',
  mariadbUrl: stack.mariadbUrl,
  createPgDatabase: createDatabase,
};
