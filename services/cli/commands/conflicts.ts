/**
 * `cdc conflicts`: the conflicts a pipeline's replicas recorded in their targets, as a table (or the raw
 * answer with --json), through the running pipeline's control API or, with --config, read from the targets
 * directly. Filters as `GET /conflicts`; `--cursor` goes on where the previous page said. Registered on the
 * main program by main.ts.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CdcError } from '../../../common/errors.ts';
import { loadConfig } from '../../config/load.ts';
import {
  CONFLICT_KINDS,
  conflictLister,
  type ConflictKind,
  type ConflictPage,
  type ConflictQuery,
} from '../../pipeline/conflict-list.ts';
import { ApiClient } from '../api-client.ts';
import { positiveInt } from '../arguments.ts';
import { out } from '../output.ts';
import { renderTable } from '../table.ts';

export interface ConflictsOptions extends ConflictQuery {
  readonly api?: string;
  readonly config?: string;
  readonly json?: boolean;
}

function instant(value: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new InvalidArgumentError('must be a time, e.g. 2026-05-01T12:00:00Z');
  return at;
}

function kind(value: string): ConflictKind {
  const found = CONFLICT_KINDS.find((known) => known === value);
  if (found === undefined) throw new InvalidArgumentError(`must be one of ${CONFLICT_KINDS.join(', ')}`);
  return found;
}

export async function conflictsCommand(options: ConflictsOptions): Promise<ConflictPage> {
  if ((options.api === undefined) === (options.config === undefined))
    throw new CdcError(
      'REQUEST_INVALID',
      'give either --api <url> of the running pipeline or --config <file> (reads the targets directly)',
    );
  const { api, config, json: _json, ...query } = options;
  const page =
    api !== undefined
      ? await new ApiClient(api).conflicts({
          ...query,
          since: query.since?.toISOString(),
          until: query.until?.toISOString(),
        })
      : await conflictLister((await loadConfig(config!)).replicas).list(query);
  out(options.json ? JSON.stringify(page, null, 2) : formatConflicts(page));
  return page;
}

export function formatConflicts(page: ConflictPage): string {
  if (page.entries.length === 0) return 'no conflicts recorded';
  const lines = [
    renderTable(
      ['ID', 'DETECTED', 'REPLICA', 'TABLE', 'KEY', 'KIND', 'POLICY', 'OUTCOME', 'LOCAL', 'REMOTE'],
      page.entries.map((entry) => [
        entry.id,
        entry.detectedAt,
        entry.replica,
        entry.table,
        JSON.stringify(entry.key),
        entry.kind,
        entry.policy,
        entry.outcome,
        `${entry.localOrigin ?? 'local'} @ ${entry.localCommitTs ?? '-'}`,
        `${entry.remoteOrigin ?? '-'} @ ${entry.remoteCommitTs ?? '-'}`,
      ]),
    ),
  ];
  if (page.next !== null) lines.push(`more: cdc conflicts --cursor ${page.next}`);
  return lines.join('\n');
}

export function registerConflictsCommand(program: Command): void {
  program
    .command('conflicts')
    .description(
      'list the conflicts the replicas recorded, with the policy that resolved each and its outcome',
    )
    .option('--api <url>', 'control API address, e.g. http://127.0.0.1:8080')
    .option(
      '-c, --config <file>',
      'instead of --api: the pipeline configuration, to read the targets directly',
    )
    .option('--replica <name>', 'only conflicts of this replica (a topology link: <from>-to-<to>)')
    .option('--table <schema.table>', 'only conflicts on this table')
    .option('--since <time>', 'only conflicts detected at or after this time (ISO 8601)', instant)
    .option('--until <time>', 'only conflicts detected before this time (ISO 8601)', instant)
    .option('--policy <name>', 'only conflicts resolved by this policy')
    .option('--kind <kind>', `only conflicts of this kind (${CONFLICT_KINDS.join(', ')})`, kind)
    .option('--cursor <cursor>', 'go on after a previous page (its "more:" line)')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .option('--json', 'print the raw /conflicts answer')
    .action(async (options: ConflictsOptions) => {
      await conflictsCommand(options);
    });
}
