/**
 * A replica's `conflicts` configuration as the sink takes it, or undefined when conflict handling is off for
 * the replica (the sink's fast path).
 */
import type { ConflictSettings } from '../apply/conflicts/types.ts';
import { durationMillis } from '../config/conflicts.ts';
import type { ReplicaConfig } from '../config/schema.ts';

export function conflictSettings(replica: ReplicaConfig): ConflictSettings | undefined {
  const section = replica.conflicts;
  if (section?.enabled !== true) return undefined;
  return {
    localNode: section.node ?? replica.name,
    defaults: { policy: section.policy, columns: section.columns },
    tables: section.tables,
    originPriority: section.originPriority,
    tombstoneRetentionMillis: durationMillis(section.tombstoneRetention),
    maxClockSkewMillis: section.maxClockSkewMillis,
    ...(section.localTables !== undefined ? { localTables: section.localTables } : {}),
    // The link's own origin names the node it comes from, its origins per original node that node; others are
    // read from their `cdc_<from>__<to>` names.
    ...(replica.originName !== undefined
      ? {
          originNodes: {
            [replica.originName]: replica.source,
            ...Object.fromEntries(
              Object.entries(replica.originsByNode ?? {}).map(([node, origin]) => [origin, node]),
            ),
          },
        }
      : {}),
    ...(section.resolver !== undefined ? { resolverModule: section.resolver } : {}),
  };
}
