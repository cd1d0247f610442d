/**
 * Convergence of a PostgreSQL pair a ⇄ b under randomized writers in both regions, links paused and resumed,
 * and the capture and apply processes SIGKILLed (convergence.ts): writers on keys of their own (no conflict may
 * be recorded), and writers on the same few hundred hot keys and counters (conflicts resolved by
 * last-writer-wins, counters merged as deltas). A few seeds run by default (CDC_TEST_SEEDS for more,
 * CDC_TEST_SEED to replay one).
 */
import { test } from 'node:test';
import { HOT_KEY_CONFLICTS, HOT_KEY_RUN, runConvergence, seeds } from './convergence.ts';

for (const seed of seeds(2))
  test(`pair a ⇄ b, writers on their own keys, under partitions and SIGKILLs (seed ${seed})`, (t) =>
    runConvergence(
      t,
      {
        label: 'conv_pair',
        shape: 'pair',
        nodes: ['a', 'b'],
        links: [{ from: 'a', to: 'b' }],
        hot: false,
        transactionsPerWriter: 300,
      },
      seed,
    ));

/**
 * Known to diverge (todo until conflict handling converges): with every writer on the same keys, a few keys end
 * present on one node and deleted on the other even without chaos and without primary-key changes (seed
 * 1727443533: item 121 kept on a with b's value after a delete_missing recorded on a, nothing recorded on b);
 * with primary-key changes about twenty keys differ. The assertions stay as they are; the report names the seed,
 * the keys and the conflicts recorded for them.
 */
for (const seed of seeds(1))
  test(
    `pair a ⇄ b, both writing the same hot keys and counters, under partitions and SIGKILLs (seed ${seed})`,
    HOT_KEY_RUN,
    (t) =>
      runConvergence(
        t,
        {
          label: 'conv_pair_hot',
          shape: 'pair',
          nodes: ['a', 'b'],
          links: [{ from: 'a', to: 'b' }],
          hot: true,
          linkApply: HOT_KEY_CONFLICTS,
          transactionsPerWriter: 300,
        },
        seed,
      ),
  );
