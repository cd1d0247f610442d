#!/usr/bin/env node
/**
 * The `cdc` command line. Exit codes: 0 success; 1 the command failed (invalid configuration, API error,
 * pipeline failure, or verify found differences); 2 wrong usage (unknown command or option). A CdcError
 * prints its message only; the stack and cause chain are for `--verbose`, or for errors that are not
 * CdcErrors (bugs).
 */
import { inspect } from 'node:util';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CdcError } from '../../common/errors.ts';
import { tuneHeap } from '../../common/heap-tuning.ts';
import { configReference } from '../config/reference.ts';
import { registerConflictsCommand } from './commands/conflicts.ts';
import { registerDlqCommands } from './commands/dlq.ts';
import { registerMigrateCommands } from './commands/migrate.ts';
import { registerPauseCommands } from './commands/pause.ts';
import { runCommand } from './commands/run.ts';
import { snapshotCommand } from './commands/snapshot.ts';
import { statusCommand } from './commands/status.ts';
import { validateCommand } from './commands/validate.ts';
import { grantsCommand } from './commands/grants.ts';
import { verifyCommand } from './commands/verify.ts';
import { err, out } from './output.ts';
import { packageVersion } from './version.ts';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

/** Set by commands whose result, not an error, means failure (verify found differences). */
let resultFailed = false;

function buildProgram(): Command {
  const program = new Command('cdc')
    .description(
      'Change data capture from PostgreSQL and MySQL/MariaDB into Kafka, and replicas kept in sync.',
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('--verbose', 'print stack traces and error causes')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description('start the pipeline described by a configuration file and run it until SIGINT/SIGTERM')
    .requiredOption('-c, --config <file>', 'pipeline configuration (YAML or JSON)')
    .addOption(
      new Option('--role <roles>', 'run only some roles, comma-separated').choices([
        'capture',
        'apply',
        'capture,apply',
        'apply,capture',
      ]),
    )
    .option(
      '--region <region>',
      "run only this region's part of the topology: captures of its nodes, apply workers of links into them",
    )
    .action((options: { config: string; role?: string; region?: string }) =>
      runCommand({
        config: options.config,
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.role
          ? {
              role: list(options.role).filter(
                (r): r is 'capture' | 'apply' => r === 'capture' || r === 'apply',
              ),
            }
          : {}),
      }),
    );

  program
    .command('validate')
    .description('check a configuration file; prints OK or every problem, exit code 1 when invalid')
    .requiredOption('-c, --config <file>', 'pipeline configuration (YAML or JSON)')
    .action((options: { config: string }) => validateCommand(options));

  program
    .command('grants')
    .description(
      "print the SQL granting each source's capture user and each replica's writing user what it needs",
    )
    .requiredOption('-c, --config <file>', 'pipeline configuration (YAML or JSON)')
    .option('--for <name>', 'only the source or replica of this name (they may be on different servers)')
    .option('--kafka <principal>', 'print the Kafka ACLs of this principal (User:name) instead')
    .action((options: { config: string; for?: string; kafka?: string }) => grantsCommand(options));

  program
    .command('status')
    .description(
      'show connectors and apply workers of a running pipeline; exit code 1 when one of them has failed',
    )
    .requiredOption('--api <url>', 'control API address, e.g. http://127.0.0.1:8080')
    .option('--json', 'print the raw /status answer')
    .action(async (options: { api: string; json?: boolean }) => {
      if (!(await statusCommand(options))) resultFailed = true;
    });

  program
    .command('snapshot')
    .description('request a snapshot of a source and follow its progress until it is done')
    .requiredOption('--api <url>', 'control API address, e.g. http://127.0.0.1:8080')
    .requiredOption('--source <name>', 'source whose tables to snapshot')
    .option('--tables <list>', 'comma-separated tables (schema.table); all captured tables when absent', list)
    .option('--interval <ms>', 'how often to poll /status', positiveInt, 500)
    .option('--timeout <ms>', 'give up (exit code 1) when the snapshot is not done by then', positiveInt)
    .action(
      (options: { api: string; source: string; tables?: string[]; interval: number; timeout?: number }) =>
        snapshotCommand(options),
    );

  program
    .command('verify')
    .description(
      'compare a replica with its source in key-range chunks; prints the differences, exit code 1 when any',
    )
    .requiredOption('-c, --config <file>', 'pipeline configuration (YAML or JSON)')
    .requiredOption('--replica <name>', 'replica to verify against its source')
    .option(
      '--tables <list>',
      'comma-separated tables (schema.table, * allowed); the captured tables when absent',
      list,
    )
    .option('--chunk-rows <n>', 'rows per compared chunk', positiveInt, 10_000)
    .option('--recheck <n>', 'read differing ranges again up to n times (live replicas)', positiveInt)
    .option('--recheck-delay <ms>', 'wait between rechecks', positiveInt, 2_000)
    .option('--json', 'print the report as JSON')
    .action(
      async (options: {
        config: string;
        replica: string;
        tables?: string[];
        chunkRows: number;
        recheck?: number;
        recheckDelay: number;
        json?: boolean;
      }) => {
        if (!(await verifyCommand(options))) resultFailed = true;
      },
    );

  program
    .command('config-reference')
    .description('print the configuration reference as Markdown (generated from the schema)')
    .action(() => out(configReference()));

  registerDlqCommands(program);

  registerConflictsCommand(program);

  registerPauseCommands(program);

  registerMigrateCommands(program, () => {
    resultFailed = true;
  });

  return program;
}

function report(error: unknown, verbose: boolean): void {
  if (error instanceof CdcError) {
    err(`error [${error.code}]: ${error.message}`);
    if (verbose) err(inspectChain(error));
    return;
  }
  // Not a CdcError: something nobody anticipated, so the stack is the useful part.
  err(`unexpected error: ${inspectChain(error)}`);
}

function inspectChain(error: unknown): string {
  const lines: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 10; depth++) {
    lines.push(
      depth === 0 ? '' : 'caused by:',
      current instanceof Error ? (current.stack ?? current.message) : inspect(current),
    );
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.filter((line) => line !== '').join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return resultFailed ? EXIT_FAILED : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed help, the version, or what was wrong with the command line.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    report(error, program.opts<{ verbose?: boolean }>().verbose === true || argv.includes('--verbose'));
    return EXIT_FAILED;
  }
}

tuneHeap();
process.exitCode = await main(process.argv);
