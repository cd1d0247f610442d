/**
 * Convergence of a three-region PostgreSQL mesh a ⇄ b ⇄ c ⇄ a under randomized writers in every region, links
 * paused and resumed, and the capture and apply processes SIGKILLed (convergence.ts). Seeds as in pair.test.ts.
 */
import { test } from 'node:test';
import { HOT_KEY_CONFLICTS, runConvergence, seeds } from './convergence.ts';

const MESH = [
  { from: 'a', to: 'b' },
  { from: 'b', to: 'c' },
  { from: 'c', to: 'a' },
];

for (const seed of seeds(1))
  test(`mesh a ⇄ b ⇄ c, writers on their own keys, under partitions and SIGKILLs (seed ${seed})`, (t) =>
    runConvergence(
      t,
      {
        label: 'conv_mesh',
        shape: 'mesh',
        nodes: ['a', 'b', 'c'],
        links: MESH,
        hot: false,
        transactionsPerWriter: 200,
      },
      seed,
    ));

/**
 * Known to diverge now and then (todo until fixed; its assertions stay): seed 1947624349 ended with one key
 * present on a only, no conflict recorded there. The likely cause, not yet confirmed: in a mesh two links write
 * into one node, each in its own session. The locked read of a
 * change takes the row lock and reads the key's tombstone in one statement, and its snapshot is taken before it
 * waits. So when another session deletes the row, the read waits, finds the row gone, and misses the tombstone
 * that delete left, and the change lands as if the key were never deleted. A per-key lock shared by every
 * session, or reading the tombstone again after the wait, would close it.
 */
const MESH_HOT = 'a change can miss the tombstone of a concurrent delete by another link into the same node';

for (const seed of seeds(1))
  test(
    `mesh a ⇄ b ⇄ c, every region writing the same hot keys and counters, under partitions and SIGKILLs (seed ${seed})`,
    { todo: MESH_HOT },
    (t) =>
      runConvergence(
        t,
        {
          label: 'conv_mesh_hot',
          shape: 'mesh',
          nodes: ['a', 'b', 'c'],
          links: MESH,
          hot: true,
          linkApply: HOT_KEY_CONFLICTS,
          transactionsPerWriter: 200,
        },
        seed,
      ),
  );
