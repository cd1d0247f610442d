/**
 * Convergence of a PostgreSQL pair a ⇄ b under randomized writers in both regions, links paused and resumed,
 * and the capture and apply processes SIGKILLed (convergence.ts): writers on keys of their own (no conflict may
 * be recorded), and writers on the same few hundred hot keys and counters (conflicts resolved by
 * last-writer-wins, counters merged as deltas). A few seeds run by default (CDC_TEST_SEEDS for more,
 * CDC_TEST_SEED to replay one).
 */
import { test } from 'node:test';
import { HOT_KEY_CONFLICTS, runConvergence, seeds } from './convergence.ts';

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
 * Every writer on the same keys: conflicts are resolved by last-writer-wins and counters merged as deltas, and
 * both nodes must still end equal, with no deleted key back and every increment counted. (Runs diverged here
 * until a local delete made before the link first wrote its table left a tombstone, and an earlier remote delete
 * stopped replacing a later local one; test/it/apply/conflict-tombstones.test.ts holds both cases.)
 */
for (const seed of seeds(1))
  test(`pair a ⇄ b, both writing the same hot keys and counters, under partitions and SIGKILLs (seed ${seed})`, (t) =>
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
    ));
