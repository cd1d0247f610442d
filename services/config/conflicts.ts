/**
 * The `conflicts` section of a replica (or of a topology link's `apply`): whether the link's sink detects and
 * resolves conflicts, and how, per table and column. Pair and mesh links between PostgreSQL nodes have it on
 * by default; plain replicas and cascades keep the fast path. See docs/conflicts.md.
 */
import { z } from 'zod';
import { COLUMN_POLICIES, ROW_POLICIES } from '../apply/conflicts/types.ts';
import { DEFAULT_MAX_CLOCK_SKEW_MILLIS } from '../apply/conflicts/clock-skew.ts';

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MILLIS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `'7d'`, `'12h'`, `'30m'`, `'90s'`, `'500ms'` in milliseconds. */
export function durationMillis(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * UNIT_MILLIS[match[2] as keyof typeof UNIT_MILLIS];
}

const rowPolicy = z.enum(ROW_POLICIES);
const columnPolicies = z.record(z.string().min(1), z.enum(COLUMN_POLICIES));

export const conflictsSchema = z
  .strictObject({
    enabled: z.boolean().optional().meta({
      description:
        'Detect and resolve conflicts on this link. Default on for pair and mesh links between PostgreSQL nodes, off otherwise (plain replicas and cascades keep the fast path). Not available on a MariaDB/MySQL target.',
    }),
    node: z.string().min(1).optional().meta({
      description:
        "Name of the node this link writes into (a row written locally there is this node's). Default the topology link's `to` node, or the replica name.",
    }),
    policy: rowPolicy.default('last-writer-wins').meta({
      description:
        'Default policy of every table: `last-writer-wins` (original commit time, then origin node name), `origin-priority`, `merge` (column-level), `keep-local`, `keep-remote`, `custom` (the resolver module).',
    }),
    columns: columnPolicies.default({}).meta({
      description:
        'Per-column policies of every table: `delta` (counter: apply new − old), `last-writer-wins`, `keep-local`, `keep-remote`.',
    }),
    tables: z
      .record(
        z.string().regex(/^[^.]+\.[^.]+$/, { error: 'must be "schema.table" as in the events' }),
        z.strictObject({ policy: rowPolicy.optional(), columns: columnPolicies.optional() }),
      )
      .default({})
      .meta({
        description: 'Per source table `schema.table`: `policy` and `columns`, over the defaults above.',
      }),
    originPriority: z.array(z.string().min(1)).default([]).meta({
      description: 'Nodes in order of precedence for `origin-priority` (earlier wins; unlisted nodes lose).',
    }),
    tombstoneRetention: z
      .string()
      .regex(DURATION, { error: 'must be a duration such as "7d", "12h", "30m", "90s"' })
      .default('7d')
      .meta({
        description:
          'How long a delete is remembered so an older insert or update cannot bring the row back. A change delayed longer than this can.',
      }),
    maxClockSkewMillis: z.int().min(0).default(DEFAULT_MAX_CLOCK_SKEW_MILLIS).meta({
      description:
        "A change whose commit time is ahead of this node's clock by more than this (its origin's clock runs ahead, which biases last-writer-wins) is warned about, once a minute per origin node; `cdc_apply_clock_skew_seconds` reports the skew whatever its size.",
    }),
    localTables: z.array(z.string().min(1)).optional().meta({
      description:
        "Tables of this node (`schema.table` or `schema.*`) whose local deletes and key changes leave tombstones from the worker's start. In a topology, the node's captured tables. A table not listed gets them when the link first writes it; a local delete before that leaves none, and an older change of the key from elsewhere can bring the row back.",
    }),
    resolver: z.string().min(1).optional().meta({
      description:
        'Path of a module whose default export is the custom resolver `(conflict: Conflict) => Resolution` (services/apply/conflicts/types.ts); loaded at start-up. Required by policy `custom`.',
    }),
  })
  .superRefine((section, ctx) => {
    const policies = [section.policy, ...Object.values(section.tables).map((table) => table.policy)];
    if (policies.includes('custom') && section.resolver === undefined)
      ctx.addIssue({ code: 'custom', path: ['resolver'], message: 'is required when a policy is custom' });
    if (policies.includes('origin-priority') && section.originPriority.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['originPriority'],
        message: 'must list the nodes in order when a policy is origin-priority',
      });
  });

export type ConflictsConfig = z.output<typeof conflictsSchema>;
