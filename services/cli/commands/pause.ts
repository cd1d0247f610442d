/**
 * `cdc pause <name>` and `cdc resume <name>`: stop and restart a connector (by source name) or an apply
 * worker (by replica name) of a running pipeline through its control API; `cdc resnapshot <source>` restarts a
 * PostgreSQL connector from a new slot with a re-snapshot. The name is looked up in /status;
 * `--connector` or `--worker` says which is meant when a source and a replica share it. Registered on the
 * main program by main.ts.
 */
import type { Command } from 'commander';
import { CdcError } from '../../../common/errors.ts';
import { ApiClient } from '../api-client.ts';
import { out } from '../output.ts';

type Kind = 'connector' | 'worker';

interface PauseOptions {
  readonly api: string;
  readonly connector?: boolean;
  readonly worker?: boolean;
}

export function registerPauseCommands(program: Command): void {
  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <name>`)
      .description(
        action === 'pause'
          ? 'pause a connector (it stops reading its source, keeping its position) or an apply worker (it stops applying)'
          : 'resume a paused connector or apply worker where it stopped',
      )
      .requiredOption('--api <url>', 'control API address, e.g. http://127.0.0.1:8080')
      .option('--connector', 'the name is a source (connector)')
      .option('--worker', 'the name is a replica (apply worker)')
      .action((name: string, options: PauseOptions) => setPausedCommand(name, action === 'pause', options));
  }
  program
    .command('resnapshot <source>')
    .description(
      "PostgreSQL source whose slot was lost: start capture over from a new slot and copy every captured table again, replacing the replicas' copies (follow it with cdc status)",
    )
    .requiredOption('--api <url>', 'control API address, e.g. http://127.0.0.1:8080')
    .action((source: string, options: { readonly api: string }) => resnapshotCommand(source, options.api));
}

export async function resnapshotCommand(source: string, api: string): Promise<void> {
  const status = await new ApiClient(api).resnapshot(source);
  out(`re-snapshot of ${source} requested; the connector is ${status.state} (follow it with cdc status)`);
}

export async function setPausedCommand(name: string, paused: boolean, options: PauseOptions): Promise<void> {
  const client = new ApiClient(options.api);
  const kind = await kindOf(client, name, options);
  const status = await client.setPaused(kind, name, paused);
  out(`${kind === 'connector' ? 'connector' : 'apply worker'} ${name} is ${status.state}`);
}

async function kindOf(client: ApiClient, name: string, options: PauseOptions): Promise<Kind> {
  if (options.connector === true && options.worker !== true) return 'connector';
  if (options.worker === true && options.connector !== true) return 'worker';
  const status = await client.status();
  const isConnector = status.connectors.some((c) => c.name === name);
  const isWorker = status.workers.some((w) => w.name === name);
  if (isConnector && isWorker) {
    throw new CdcError(
      'REQUEST_INVALID',
      `${JSON.stringify(name)} names both a connector and an apply worker: add --connector or --worker`,
      { name },
    );
  }
  if (isConnector) return 'connector';
  if (isWorker) return 'worker';
  const names = [...status.connectors, ...status.workers].map((item) => item.name).join(', ') || 'none';
  throw new CdcError(
    'NOT_FOUND',
    `no connector or apply worker named ${JSON.stringify(name)} (names: ${names})`,
    { name },
  );
}
