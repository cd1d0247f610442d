/**
 * The pipeline as a graph for the dashboard: a node per database (a source captures it, a replica writes into
 * it), an edge per replica from its source's database to its own. A database that is both a replica's target
 * and another source's origin joins the two hops, so cascades and meshes (compiled from `topology`, or written
 * by hand in `sources` and `replicas`) draw as they run. Nodes carry names only, never a URL.
 */
import type { PipelineConfig } from '../config/schema.ts';

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly kind: string;
  readonly region: string | null;
  /** Sources (connectors) capturing this database. */
  readonly sources: readonly string[];
}

export interface GraphEdge {
  /** The replica (apply worker) running this hop. */
  readonly replica: string;
  readonly source: string;
  readonly from: string;
  readonly to: string;
}

export interface PipelineGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** Server and database of a URL: two URLs naming one database with other users or options are one node. */
function databaseKey(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port}${parsed.pathname}`;
  } catch {
    return url;
  }
}

export function pipelineGraph(config: PipelineConfig): PipelineGraph {
  const nodes = new Map<
    string,
    { id: string; label: string; kind: string; region: string | null; sources: string[] }
  >();
  const topologyNodes = config.topology?.nodes ?? [];
  const nodeFor = (url: string, kind: string, fallbackLabel: string) => {
    const key = databaseKey(url);
    let node = nodes.get(key);
    if (node === undefined) {
      const named = topologyNodes.find((entry) => databaseKey(entry.url) === key);
      node = {
        id: `n${nodes.size}`,
        label: named?.name ?? fallbackLabel,
        kind,
        region: named?.region ?? null,
        sources: [],
      };
      nodes.set(key, node);
    }
    return node;
  };
  for (const source of config.sources)
    nodeFor(source.url, source.kind, source.name).sources.push(source.name);
  const edges: GraphEdge[] = [];
  for (const replica of config.replicas) {
    const source = config.sources.find((entry) => entry.name === replica.source);
    if (source === undefined) continue;
    const from = nodeFor(source.url, source.kind, source.name);
    const to = nodeFor(replica.url, replica.kind, replica.name);
    edges.push({ replica: replica.name, source: source.name, from: from.id, to: to.id });
  }
  return { nodes: [...nodes.values()], edges };
}
