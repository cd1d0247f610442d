/**
 * `cdc status --api <url>`: the running pipeline's connectors and workers as tables (or JSON). Resolves false
 * when a connector or apply worker has failed (a retry cannot fix it), so scripts and probes can act on the
 * exit code; what failed and why is then also written to stderr.
 */
import { ApiClient } from '../api-client.ts';
import { err, out } from '../output.ts';
import { formatStatus } from '../status-format.ts';

export async function statusCommand(options: { api: string; json?: boolean }): Promise<boolean> {
  const status = await new ApiClient(options.api).status();
  out(options.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  const failed = [
    ...status.connectors.filter((c) => c.state === 'failed').map((c) => ({ what: 'connector', ...c })),
    ...status.workers.filter((w) => w.state === 'failed').map((w) => ({ what: 'apply worker', ...w })),
  ];
  for (const item of failed)
    err(`${item.what} ${item.name} failed: ${item.lastError ?? 'no error reported'}`);
  return failed.length === 0;
}
