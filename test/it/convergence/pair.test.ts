/**
 * Convergence of a PostgreSQL pair a ⇄ b under randomized writers in both regions, links paused and resumed,
 * and the capture and apply processes SIGKILLed (convergence.ts). Writers on keys of their own need no
 * conflict handling; a few seeds run by default (CDC_TEST_SEEDS for more, CDC_TEST_SEED to replay one).
 */
import { test } from 'node:test';
import { runConvergence, seeds } from './convergence.ts';

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
