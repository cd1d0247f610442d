/** Where the benchmark runs: the local stack (same addresses as stack/env.sh), with throwaway databases. */
import { createDatabase, type TestDatabase } from '../test/support/pg.ts';
import { stack } from '../test/support/stack.ts';

export interface BenchEnv {
  readonly brokers: readonly string[];
  readonly mariadbUrl: string;
  createPgDatabase(prefix: string): Promise<TestDatabase>;
}

export const benchEnv: BenchEnv = {
  brokers: stack.kafkaBrokers,
  mariadbUrl: stack.mariadbUrl,
  createPgDatabase: createDatabase,
};
