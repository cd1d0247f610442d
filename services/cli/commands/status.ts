/** `cdc status --api <url>`: the running pipeline's connectors and workers as tables (or JSON). */
import { ApiClient } from '../api-client.ts';
import { out } from '../output.ts';
import { formatStatus } from '../status-format.ts';

export async function statusCommand(options: { api: string; json?: boolean }): Promise<void> {
  const status = await new ApiClient(options.api).status();
  out(options.json ? JSON.stringify(status, null, 2) : formatStatus(status));
}
