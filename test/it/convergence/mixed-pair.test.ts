/**
 * Convergence of a mixed pair, PostgreSQL a ⇄ MariaDB m, under randomized writers on both sides, links paused
 * and resumed, and the capture and apply processes SIGKILLed (convergence.ts). Conflict handling needs per-row
 * commit time and origin, which MariaDB does not keep (docs/conflicts.md), so the writers keep to keys of their
 * own. Seeds as in pair.test.ts.
 */
import { test } from 'node:test';
import { runConvergence, seeds } from './convergence.ts';

for (const seed of seeds(1))
  test(`mixed pair PostgreSQL a ⇄ MariaDB m, writers on their own keys, under partitions and SIGKILLs (seed ${seed})`, (t) =>
    runConvergence(
      t,
      {
        label: 'conv_mixed',
        shape: 'pair',
        nodes: ['a', 'm'],
        mariadb: ['m'],
        links: [{ from: 'a', to: 'm' }],
        hot: false,
        transactionsPerWriter: 250,
      },
      seed,
    ));
