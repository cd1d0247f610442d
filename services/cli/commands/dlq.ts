/**
 * `cdc dlq list` and `cdc dlq replay`: a running pipeline's dead letters through its control API. `list` shows
 * what was set aside and why, oldest first, a page at a time; `replay` sends a replica's dead letters through
 * again once their cause is fixed, in their original order, and follows the replay with a progress bar. A
 * replay that meets a dead letter still failing stops before it and exits 1 naming it; run it again after
 * the fix and it goes on from there. Registered on the main program by main.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { CdcError } from '../../../common/errors.ts';
import type { DeadLetterPage, ReplayProgress } from '../../dlq/dlq-control.ts';
import { ApiClient } from '../api-client.ts';
import { positiveInt } from '../arguments.ts';
import { out } from '../output.ts';
import { renderTable } from '../table.ts';

const API = 'control API address, e.g. http://127.0.0.1:8080';
const REPLICA = 'the replica whose dead letters to use, when the pipeline has several';

function offset(value: string): string {
  if (!/^[0-9]{1,19}$/.test(value)) throw new InvalidArgumentError('must be an offset (0 or more)');
  return value;
}

export interface DlqListOptions {
  readonly api: string;
  readonly replica?: string;
  readonly table?: string;
  readonly from?: string;
  readonly limit: number;
  readonly json?: boolean;
}

export async function dlqListCommand(options: DlqListOptions): Promise<void> {
  const page = await new ApiClient(options.api).deadLetters({
    replica: options.replica,
    table: options.table,
    from: options.from,
    limit: options.limit,
  });
  if (options.json) {
    out(JSON.stringify(page, null, 2));
    return;
  }
  out(formatPage(page));
}

export function formatPage(page: DeadLetterPage): string {
  const lines: string[] = [];
  if (page.entries.length === 0) lines.push(`no dead letters of replica ${page.replica} in ${page.topic}`);
  else
    lines.push(
      renderTable(
        ['OFFSET', 'AT', 'TABLE', 'OP', 'POSITION', 'REPLAYED', 'REASON'],
        page.entries.map((entry) => [
          entry.offset,
          entry.at,
          entry.table ?? '-',
          entry.op ?? '-',
          entry.position ?? '-',
          entry.replayed ? 'yes' : 'no',
          `[${entry.code}] ${entry.reason}`,
        ]),
      ),
    );
  lines.push(
    `replay of ${page.replica} starts at offset ${page.replayFrom} of ${page.topic} (offsets ${page.low}..${page.high})`,
  );
  if (page.next !== null) lines.push(`more: cdc dlq list --from ${page.next}`);
  return lines.join('\n');
}

export interface DlqReplayOptions {
  readonly api: string;
  readonly replica?: string;
  /** Poll interval in ms. */
  readonly interval?: number;
}

export async function dlqReplayCommand(options: DlqReplayOptions): Promise<ReplayProgress> {
  const client = new ApiClient(options.api);
  let progress = await client.replayDeadLetters(options.replica);
  const replica = progress.replica;
  out(`replaying dead letters of ${replica}: offsets ${progress.from}..${progress.until}`);
  const from = BigInt(progress.from);
  const total = Math.max(1, Number(BigInt(progress.until) - from));
  const bar = new SingleBar({
    format: '{bar} {value}/{total} dead letters read | {replayed} replayed | {duration_formatted}',
    hideCursor: true,
  });
  const read = (p: ReplayProgress): number => Number(BigInt(p.next) - from);
  bar.start(total, read(progress), { replayed: progress.replayed });
  try {
    while (progress.state === 'running') {
      await delay(options.interval ?? 500);
      progress = await client.replayProgress(replica);
      bar.update(read(progress), { replayed: progress.replayed });
    }
  } finally {
    bar.stop();
  }
  const summary = `${progress.replayed} replayed, ${progress.alreadyReplayed} already replayed, ${progress.otherReplicas} of other replicas`;
  if (progress.state === 'failed')
    throw new CdcError('APPLY_FAILED', `${progress.error ?? 'replay failed'} (${summary})`, {
      replica,
      next: progress.next,
    });
  out(`replay of ${replica} done: ${summary}`);
  return progress;
}

export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description("list a replica's dead letters, and replay them once their cause is fixed");

  dlq
    .command('list')
    .description('show dead letters with their reasons, oldest first')
    .requiredOption('--api <url>', API)
    .option('--replica <name>', REPLICA)
    .option('--table <schema.table>', 'only dead letters of this table')
    .option('--from <offset>', 'start at this offset of the dead-letter topic', offset)
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .option('--json', 'print the raw /dlq answer')
    .action((options: DlqListOptions) => dlqListCommand(options));

  dlq
    .command('replay')
    .description(
      'apply the dead letters to the replica again, in order, each once; stops at one that still fails (exit code 1)',
    )
    .requiredOption('--api <url>', API)
    .option('--replica <name>', REPLICA)
    .option('--interval <ms>', 'how often to poll the progress', positiveInt, 500)
    .action(async (options: DlqReplayOptions) => {
      await dlqReplayCommand(options);
    });
}
