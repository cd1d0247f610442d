/** `cdc validate --config <file>`: OK and a summary, or every problem; the exit code tells scripts which. */
import { loadConfig } from '../../config/load.ts';
import { out } from '../output.ts';

export async function validateCommand(options: { config: string }): Promise<void> {
  // An invalid file throws CONFIG_INVALID / CONFIG_UNREADABLE, which main prints and turns into exit code 1.
  const config = await loadConfig(options.config);
  const sources = config.sources.map((s) => `${s.name} (${s.kind})`).join(', ');
  const replicas = config.replicas.map((r) => `${r.name} (${r.kind} from ${r.source})`).join(', ') || 'none';
  out(
    `OK: ${options.config} is a valid pipeline "${config.name}"\n  sources: ${sources}\n  replicas: ${replicas}`,
  );
}
