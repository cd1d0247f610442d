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

for (const seed of seeds(1))
  test(`mesh a ⇄ b ⇄ c, every region writing the same hot keys and counters, under partitions and SIGKILLs (seed ${seed})`, (t) =>
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
    ));
