/**
 * Which side wins a conflict under a whole-row policy. Pure: the same versions give the same answer on every
 * node, which is what makes the nodes converge.
 */
import { isNewer, type ConflictSettings, type RowPolicy, type Version } from './types.ts';

/** `true` when the remote change should win over the local row (`local` null: nothing local to keep). */
export function remoteWins(
  policy: RowPolicy | 'last-writer-wins',
  settings: Pick<ConflictSettings, 'originPriority'>,
  local: Version | null,
  remote: Version,
): boolean {
  if (local === null) return true;
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
