/**
 * Which side wins a conflict under a whole-row policy. Pure: the same versions give the same answer on every
 * node, which is what makes the nodes converge.
 */
import { isNewer, sameVersion, type ConflictSettings, type RowPolicy, type Version } from './types.ts';

/** `true` when the remote change should win over the local row (`local` null: nothing local to keep). */
export function remoteWins(
  policy: RowPolicy | 'last-writer-wins',
  settings: Pick<ConflictSettings, 'originPriority'>,
  local: Version | null,
  remote: Version,
): boolean {
  if (local === null) return true;
  // The very version of this change: written earlier in the same source transaction (a delete's tombstone, a
  // piece of a transaction applied in several target transactions), or by an earlier transaction of the same
  // origin committed in the same microsecond. A link applies one origin's changes in that origin's commit order,
  // so the change at hand is the later one and wins, whatever the policy: it does not compete with itself.
  if (sameVersion(local, remote)) return true;
  switch (policy) {
    case 'keep-local':
      return false;
    case 'keep-remote':
      return true;
    case 'origin-priority': {
      const rank = (node: string): number => {
        const index = settings.originPriority.indexOf(node);
        return index < 0 ? Number.MAX_SAFE_INTEGER : index;
      };
      const [mine, theirs] = [rank(local.origin), rank(remote.origin)];
      if (mine !== theirs) return theirs < mine;
      return isNewer(remote, local);
    }
    // Column merge and a custom resolver fall back to last-writer-wins where they decide nothing themselves.
    case 'last-writer-wins':
    case 'merge':
    case 'custom':
      return isNewer(remote, local);
  }
}
