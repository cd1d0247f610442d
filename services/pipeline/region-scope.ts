/**
 * A topology across regions runs one process (or group of processes) per region, each next to its own Kafka
 * cluster: it captures the nodes of its region and applies the links that write into them. Every region's
 * configuration holds the whole topology (the capture rules of a node depend on every link into it), and
 * `--region` picks that region's part.
 */
import { CdcError } from '../../common/errors.ts';
import type { PipelineConfig, ReplicaConfig, SourceConfig } from '../config/schema.ts';

export interface RegionScope {
  readonly sources: readonly SourceConfig[];
  readonly replicas: readonly ReplicaConfig[];
}

export function regionScope(config: PipelineConfig, region: string): RegionScope {
  const topology = config.topology;
  const regions = [...new Set(topology?.nodes.flatMap((node) => node.region ?? []) ?? [])];
  if (topology === undefined || !regions.includes(region)) {
    throw new CdcError(
      'CONFIG_INVALID',
      `region ${JSON.stringify(region)} is not the region of any topology node (regions: ${regions.join(', ') || 'none'})`,
      { region },
    );
  }
  const local = new Set(topology.nodes.filter((node) => node.region === region).map((node) => node.name));
  const incoming = new Set(topology.links.filter((link) => local.has(link.to)).map((link) => link.replica));
  return {
    sources: config.sources.filter((source) => local.has(source.name)),
    replicas: config.replicas.filter((replica) => incoming.has(replica.name)),
  };
}
