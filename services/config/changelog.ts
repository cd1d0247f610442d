/**
 * The `changelog` section of a source: how capture lays its changes out in the changelog topic, and so what a
 * replica of it can promise (README "Scaling apply out: a keyed changelog").
 *
 * - `ordered` (the default): one partition in commit order; a replica applies each source transaction whole.
 * - `keyed`: `partitions` partitions, each row change in the partition of its key; apply workers of one replica
 *   share the partitions. Each key's changes stay in order, but a source transaction touching keys of several
 *   partitions reaches the replica as several target transactions.
 *
 * What needs the total order is refused with a keyed source (`keyedModeIssues`), naming the field and why.
 */
import { z } from 'zod';

export const MAX_CHANGELOG_PARTITIONS = 1_000;

const partitionsError = `must be a whole number of partitions from 2 to ${MAX_CHANGELOG_PARTITIONS} (one partition is mode "ordered")`;

export const changelogSchema = z
  .discriminatedUnion(
    'mode',
    [
      z.strictObject({
        mode: z.literal('ordered').meta({
          description:
            'One partition, in commit order: a replica applies every source transaction whole, in commit order.',
        }),
      }),
      z.strictObject({
        mode: z.literal('keyed').meta({
          description:
            "Row changes partitioned by table and primary key (Kafka's default partitioner on the record key); several apply processes of one replica share the partitions. Per-key order only: a source transaction touching several partitions is applied as several target transactions.",
        }),
        partitions: z
          .int({ error: partitionsError })
          .min(2, { error: partitionsError })
          .max(MAX_CHANGELOG_PARTITIONS, { error: partitionsError })
          .meta({
            description: 'Partitions of the changelog topic; the most apply workers that can share it.',
          }),
      }),
    ],
    { error: 'must be {"mode": "ordered"} or {"mode": "keyed", "partitions": N}' },
  )
  .default({ mode: 'ordered' })
  .meta({
    description:
      'How the changelog is laid out: `ordered` (default; one partition, whole source transactions) or `keyed` with `partitions` (apply scales out, per-key order only; see "Scaling apply out").',
  });

export type ChangelogMode = z.output<typeof changelogSchema>;

/** Partitions the changelog is created with, and that keyed capture spreads over; null: one ordered partition. */
export function keyedPartitions(mode: ChangelogMode): number | null {
  return mode.mode === 'keyed' ? mode.partitions : null;
}

/** What a replica of a keyed source must not ask for: each needs the source's total order or whole transactions. */
interface ReplicaShape {
  readonly source: string;
  readonly onError: string;
  readonly conflicts?: { readonly enabled?: boolean } | undefined;
  readonly originsByNode?: Readonly<Record<string, string>> | undefined;
  readonly via?: unknown;
}

export interface KeyedIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** The fields of replicas that a keyed source cannot serve, with the reason for each. */
export function keyedModeIssues(
  sources: readonly { readonly name: string; readonly changelog: ChangelogMode }[],
  replicas: readonly ReplicaShape[],
): KeyedIssue[] {
  const keyed = new Map<string, number>();
  sources.forEach((source, index) => {
    if (source.changelog.mode === 'keyed') keyed.set(source.name, index);
  });
  const issues: KeyedIssue[] = [];
  replicas.forEach((replica, index) => {
    const sourceIndex = keyed.get(replica.source);
    if (sourceIndex === undefined) return;
    const why = `source ${JSON.stringify(replica.source)} has a keyed changelog (sources[${sourceIndex}].changelog.mode "keyed")`;
    if (replica.conflicts?.enabled === true)
      issues.push({
        path: ['replicas', index, 'conflicts', 'enabled'],
        message: `conflict handling needs whole source transactions in commit order, and ${why} applies each partition on its own: use mode "ordered" for a multi-master link`,
      });
    if (replica.originsByNode !== undefined)
      issues.push({
        path: ['replicas', index, 'originsByNode'],
        message: `re-marking origins for a cascade or fan-in needs the source's commit order, and ${why}: use mode "ordered"`,
      });
    if (replica.via !== undefined)
      issues.push({
        path: ['replicas', index, 'via'],
        message: `reading a copy of the changelog is not supported with ${why}: the copy's partitions are not checked against the original's`,
      });
    if (replica.onError === 'dead-letter')
      issues.push({
        path: ['replicas', index, 'onError'],
        message: `must be "stop" because ${why}: dead-letter replay keeps one position per replica, which assumes dead letters come in stream order, and workers of several partitions dead-letter in no common order`,
      });
  });
  return issues;
}
