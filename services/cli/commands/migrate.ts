/**
 * `cdc migrate <step>`: the MariaDB → PostgreSQL migration workflow (services/migrate), one subcommand per step:
 * start (copy and catch up), verify, cutover, reverse. Registered on the main program by main.ts.
 */
import { Option, type Command } from 'commander';
import { nonNegativeInt, positiveInt } from '../arguments.ts';
import { migrateCutoverCommand } from './migrate-cutover.ts';
import { migrateReverseCommand } from './migrate-reverse.ts';
import { migrateStartCommand } from './migrate-start.ts';
import { migrateVerifyCommand } from './migrate-verify.ts';

const CONFIG = 'pipeline configuration (YAML or JSON) with a mariadb source and a postgres replica of it';
const REPLICA = 'the PostgreSQL replica to migrate to, when the configuration has several';

/** `markFailed` is called when a command's result (not an error) means failure: verify found differences. */
export function registerMigrateCommands(program: Command, markFailed: () => void): void {
  const migrate = program
    .command('migrate')
    .description('migrate a MariaDB database to PostgreSQL: start, verify, cutover, reverse');

  migrate
    .command('start')
    .description(
      'copy the MariaDB source into PostgreSQL and keep it in sync, printing the phase (copying, catching-up, in-sync); ends after the cutover',
    )
    .requiredOption('-c, --config <file>', CONFIG)
    .option('--replica <name>', REPLICA)
    .option('--in-sync-lag <ms>', 'lag at or under which the replica counts as in sync', positiveInt, 1_000)
    .option('--interval <ms>', 'how often to print the phase', positiveInt, 2_000)
    .action((options: { config: string; replica?: string; inSyncLag: number; interval: number }) =>
      migrateStartCommand(options),
    );

  migrate
    .command('verify')
    .description(
      'compare every migrated table of the replica with the source; prints the report, exit code 1 when anything differs',
    )
    .requiredOption('-c, --config <file>', CONFIG)
    .option('--replica <name>', REPLICA)
    .option(
      '--reverse',
      'after the cutover: compare the old MariaDB database with the new PostgreSQL primary',
    )
    .option('--chunk-rows <n>', 'rows per compared chunk', positiveInt, 10_000)
    .option(
      '--recheck <n>',
      'read differing ranges again up to n times (the migration is live)',
      nonNegativeInt,
      3,
    )
    .option('--recheck-delay <ms>', 'wait between rechecks', positiveInt, 2_000)
    .option('--json', 'print the report as JSON')
    .action(
      async (options: {
        config: string;
        replica?: string;
        reverse?: boolean;
        chunkRows: number;
        recheck: number;
        recheckDelay: number;
        json?: boolean;
      }) => {
        if (!(await migrateVerifyCommand(options))) markFailed();
      },
    );

  migrate
    .command('cutover')
    .description(
      'fence the source, wait until the replica applied its final GTID position, verify, and hand over to PostgreSQL; prints the takeover position',
    )
    .requiredOption('-c, --config <file>', CONFIG)
    .option('--replica <name>', REPLICA)
    .addOption(
      new Option(
        '--fence <mode>',
        'read-only: SET GLOBAL read_only = ON on the source (needs READ_ONLY ADMIN); operator: writers are already stopped',
      )
        .choices(['read-only', 'operator'])
        .default('read-only'),
    )
    .option('--timeout <ms>', 'how long the replica may take to reach the fence', positiveInt, 120_000)
    .action(
      (options: { config: string; replica?: string; fence: 'read-only' | 'operator'; timeout: number }) =>
        migrateCutoverCommand(options),
    );

  migrate
    .command('reverse')
    .description(
      'after the cutover: replicate the new PostgreSQL primary back into the old MariaDB database (fallback) until SIGINT/SIGTERM',
    )
    .requiredOption('-c, --config <file>', CONFIG)
    .option('--replica <name>', REPLICA)
    .option('--interval <ms>', 'how often to print the status line', positiveInt, 5_000)
    .action((options: { config: string; replica?: string; interval: number }) =>
      migrateReverseCommand(options),
    );
}
