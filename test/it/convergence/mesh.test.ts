/**
 * Convergence of a three-region PostgreSQL mesh a ⇄ b ⇄ c ⇄ a under randomized writers in every region, links
 * paused and resumed, and the capture and apply processes SIGKILLed (convergence.ts). Seeds as in pair.test.ts.
 */
import { test } from 'node:test';
import { runConvergence, seeds } from './convergence.ts';

for (const seed of seeds(1))
  test(`mesh a ⇄ b ⇄ c, writers on their own keys, under partitions and SIGKILLs (seed ${seed})`, (t) =>
    runConvergence(
      t,
      {
        label: 'conv_mesh',
        shape: 'mesh',
        nodes: ['a', 'b', 'c'],
        links: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
          { from: 'c', to: 'a' },
        ],
        hot: false,
        transactionsPerWriter: 200,
      },
      seed,
    ));
