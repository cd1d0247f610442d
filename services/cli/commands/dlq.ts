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
import { silentLogger } from '../../../common/logger.ts';
import { loadConfig } from '../../config/load.ts';
import { deadLetterControl, type DeadLetterPage, type ReplayProgress } from '../../dlq/dlq-control.ts';
import { ApiClient } from '../api-client.ts';
import { positiveInt } from '../arguments.ts';
import { out } from '../output.ts';
import { renderTable } from '../table.ts';

const API = 'control API address, e.g. http://127.0.0.1:8080';
const CONFIG =
  'instead of --api: the pipeline configuration, to read Kafka and write the replica directly (pipeline stopped)';
const REPLICA = 'the replica whose dead letters to use, when the pipeline has several';

function offset(value: string): string {
  if (!/^[0-9]{1,19}$/.test(value)) throw new InvalidArgumentError('must be an offset (0 or more)');
  return value;
}

/** Where dead letters are read and replayed: a running pipeline's API, or Kafka and the replica directly. */
export interface DlqTarget {
  readonly api?: string;
  readonly config?: string;
}

interface DeadLetterAccess {
  list(query: ListQuery): Promise<DeadLetterPage>;
  startReplay(replica: string | undefined): Promise<ReplayProgress>;
  progress(replica: string): Promise<ReplayProgress>;
  close(): Promise<void>;
}

interface ListQuery {
  readonly replica?: string;
  readonly table?: string;
  readonly from?: string;
  readonly limit?: number;
}

async function access(target: DlqTarget): Promise<DeadLetterAccess> {
  if ((target.api === undefined) === (target.config === undefined))
    throw new CdcError(
      'REQUEST_INVALID',
      'give either --api <url> of the running pipeline or --config <file> (reads Kafka and writes the replica itself)',
    );
  if (target.api !== undefined) {
    const client = new ApiClient(target.api);
    return {
      list: (query) => client.deadLetters(query),
      startReplay: (replica) => client.replayDeadLetters(replica),
      progress: (replica) => client.replayProgress(replica),
      close: () => Promise.resolve(),
    };
  }
  // Without the API the replay writes through a sink of its own: with the pipeline's apply worker of that
  // replica running, a PostgreSQL replica marking origins refuses the second session (use --api then).
  const control = deadLetterControl(await loadConfig(target.config!), { logger: silentLogger });
  return {
    list: ({ from, ...query }) =>
      control.list({ ...query, ...(from !== undefined ? { from: BigInt(from) } : {}) }),
    startReplay: (replica) => control.replay(replica),
    progress: (replica) => {
      const progress = control.replayStatus(replica);
      return progress === null
        ? Promise.reject(new CdcError('INTERNAL', `the replay of ${replica} has no progress`))
        : Promise.resolve(progress);
    },
    close: () => control.close(),
  };
}

export interface DlqListOptions extends DlqTarget {
  readonly replica?: string;
  readonly table?: string;
  readonly from?: string;
  readonly limit: number;
  readonly json?: boolean;
}

export async function dlqListCommand(options: DlqListOptions): Promise<void> {
  const dlq = await access(options);
  let page: DeadLetterPage;
  try {
    page = await dlq.list({
      ...(options.replica !== undefined ? { replica: options.replica } : {}),
      ...(options.table !== undefined ? { table: options.table } : {}),
      ...(options.from !== undefined ? { from: options.from } : {}),
      limit: options.limit,
    });
  } finally {
    await dlq.close();
  }
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

export interface DlqReplayOptions extends DlqTarget {
  readonly replica?: string;
  /** Poll interval in ms. */
  readonly interval?: number;
}

export async function dlqReplayCommand(options: DlqReplayOptions): Promise<ReplayProgress> {
  const dlq = await access(options);
  try {
    return await follow(dlq, options);
  } finally {
    await dlq.close();
  }
}

async function follow(dlq: DeadLetterAccess, options: DlqReplayOptions): Promise<ReplayProgress> {
  let progress = await dlq.startReplay(options.replica);
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
      progress = await dlq.progress(replica);
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
    .option('--api <url>', API)
    .option('-c, --config <file>', CONFIG)
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
    .option('--api <url>', API)
    .option('-c, --config <file>', CONFIG)
    .option('--replica <name>', REPLICA)
    .option('--interval <ms>', 'how often to poll the progress', positiveInt, 500)
    .action(async (options: DlqReplayOptions) => {
      await dlqReplayCommand(options);
    });
}
