/**
 * A validated topology compiled into what the pipeline runs: a source for every node that feeds a link (its
 * changelog is what the link's apply worker consumes), a replica (apply worker) per directed link, and a capture
 * rule per node: which origin markers its capture will see for what links wrote into it, the node each stands
 * for, and which of those transactions it must not publish again (they came over a pair or mesh link).
 *
 * The source and replica schemas are passed in (they live in schema.ts, which uses this file), so a node's or
 * link's settings get exactly the checks and defaults of `sources[]` and `replicas[]`, reported at the node or link.
 */
import type { z } from 'zod';
import { configErrorMap } from './issues.ts';
import {
  directedLinks,
  isTwoWay,
  ORIGIN_MARKINGS,
  type DirectedLink,
  type OriginMarkingMode,
  type LinkShape,
  type Topology,
  type TopologyNode,
} from './topology.ts';

/** Nested parses phrase their problems as the top-level one does (load.ts). */
const PARSE = { error: configErrorMap, reportInput: true } as const;

export interface CaptureRule {
  /**
   * Origin markers this node's capture reports for writes of its incoming links (PostgreSQL replication origin
   * names, MariaDB session server ids as text) → the node the change came from.
   */
  readonly origins: Readonly<Record<string, string>>;
  /** Markers whose transactions this node does not publish: they came over a pair or mesh link. */
  readonly drop: readonly string[];
}

/**
 * Whether a link into `node` may mark with a marker row, so the node's capture must read cdc_apply.origin_marks
 * (services/pipeline/marker-capture.ts): `marker-row` when one is set to, `auto` when one will where the node's
 * user lacks the privilege for native marking, null when none may.
 */
export function markerRowMarking(topology: CompiledTopology, node: string): 'marker-row' | 'auto' | null {
  if (topology.nodes.find((entry) => entry.name === node)?.kind === 'mysql') return null;
  const markings = topology.links.filter((l) => l.to === node && l.marker !== null).map((l) => l.marking);
  return markings.includes('marker-row') ? 'marker-row' : markings.includes('auto') ? 'auto' : null;
}

export const readsMarkerRows = (topology: CompiledTopology, node: string): boolean =>
  markerRowMarking(topology, node) !== null;

export interface CompiledLink extends DirectedLink {
  /** The replica (apply worker) running this link. */
  readonly replica: string;
  /** What marks the link's writes in the target (null when the target node has `origins: false`). */
  readonly marker: string | null;
  /** How the link marks its writes as configured (`auto` is decided at start-up, topology-origins.ts). */
  readonly marking: OriginMarkingMode;
  /**
   * PostgreSQL target: the replication origin marking a change `from` re-publishes, by the node it was first
   * written on (every node upstream of `from` through marked cascade or fan-in links), so the next tier still
   * names that node. Changes first written on `from` itself go under `marker`.
   */
  readonly originals: Readonly<Record<string, string>>;
}

export interface CompiledTopology {
  readonly nodes: readonly TopologyNode[];
  readonly links: readonly CompiledLink[];
  /** Per captured node. */
  readonly captureRules: Readonly<Record<string, CaptureRule>>;
}

/** The apply worker of a link; unique as long as node names hold no `-to-`. */
export const linkReplicaName = (from: string, to: string): string => `${from}-to-${to}`;

/**
 * PostgreSQL replication origins are cluster-wide and active in one session at a time, so each link gets its
 * own: two links into databases of one cluster from the same node would otherwise fight over `cdc_<from>`.
 */
export const linkOriginName = (from: string, to: string): string => `cdc_${from}__${to}`;

/**
 * The origin of a link's writes of a change first written on `original`, another node upstream: one per link
 * and original node (not `cdc_<original>__<to>`), since two links into one node can carry changes of the same
 * original node at once, and before PostgreSQL 16 an origin is active in one session at a time.
 */
export const relayedOriginName = (original: string, from: string, to: string): string =>
  `cdc_${original}__${from}__${to}`;

export interface CompileSchemas<S extends z.ZodType, R extends z.ZodType> {
  readonly source: S;
  readonly replica: R;
  /** The session server id the MariaDB sink of a replica marks its writes with (apply-task.ts). */
  readonly replicaServerId: (replica: string) => number;
  /** Names `sources[]` and `replicas[]` already use: a node or link must not take them again. */
  readonly taken: { readonly sources: readonly string[]; readonly replicas: readonly string[] };
}

export interface CompileIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

export interface Compiled<S, R> {
  readonly sources: S[];
  readonly replicas: R[];
  readonly topology: CompiledTopology;
}

export function compileTopology<S extends z.ZodType, R extends z.ZodType>(
  topology: Topology,
  schemas: CompileSchemas<S, R>,
  report: (issue: CompileIssue) => void,
): Compiled<z.output<S>, z.output<R>> {
  const indexOf = new Map(topology.nodes.map((entry, index) => [entry.name, index]));
  const nodeOf = (name: string) => topology.nodes[indexOf.get(name) ?? -1] as TopologyNode;
  const directed = directedLinks(topology);
  const links: CompiledLink[] = directed.map((l) => {
    const replica = linkReplicaName(l.from, l.to);
    const target = nodeOf(l.to);
    const marker = !target.origins
      ? null
      : target.kind === 'postgres'
        ? linkOriginName(l.from, l.to)
        : String(schemas.replicaServerId(replica));
    const originals =
      marker !== null && target.kind === 'postgres'
        ? Object.fromEntries(
            [...upstreamOf(l.from, directed, nodeOf)]
              .filter((node) => node !== l.to)
              .map((node) => [node, relayedOriginName(node, l.from, l.to)]),
          )
        : {};
    return { ...l, replica, marker, originals, marking: linkMarking(topology, l.index, target) };
  });
  const feeding = new Set(links.map((l) => l.from));

  const sources: z.output<S>[] = [];
  topology.nodes.forEach((entry, index) => {
    if (!feeding.has(entry.name)) return;
    if (schemas.taken.sources.includes(entry.name)) {
      report({
        path: ['nodes', index, 'name'],
        message: `${JSON.stringify(entry.name)} is also the name of a source in sources[]: a node feeding a link is captured as a source of that name`,
      });
      return;
    }
    const input = { ...entry.capture, name: entry.name, kind: entry.kind, url: entry.url };
    const parsed = schemas.source.safeParse(input, PARSE);
    if (parsed.success) sources.push(parsed.data);
    else
      for (const issue of parsed.error.issues)
        report({ path: ['nodes', index, ...nodeFieldPath(issue.path)], message: issue.message });
  });

  const replicas: z.output<R>[] = [];
  for (const l of links) {
    const target = nodeOf(l.to);
    if (schemas.taken.replicas.includes(l.replica)) {
      report({
        path: ['links', l.index],
        message: `its apply worker ${l.replica} has the name of a replica in replicas[]: rename that replica`,
      });
      continue;
    }
    // Tables of a MariaDB/MySQL node are named by database; a PostgreSQL node holds them in `public` unless the
    // link says otherwise (`apply.targetSchema`).
    const schemaDefault =
      target.kind === 'postgres' && nodeOf(l.from).kind !== 'postgres' ? { targetSchema: 'public' } : {};
    const input = {
      ...schemaDefault,
      originMarking: target.originMarking,
      ...topology.links[l.index]?.apply,
      name: l.replica,
      source: l.from,
      kind: target.kind,
      url: target.url,
      origin: target.origins,
      ...(target.kind === 'postgres' && l.marker !== null ? { originName: l.marker } : {}),
      ...(Object.keys(l.originals).length > 0 ? { originsByNode: l.originals } : {}),
      ...linkConflicts(l, target, nodeOf(l.from).kind, topology.links[l.index]?.apply.conflicts, l.marking),
    };
    const parsed = schemas.replica.safeParse(input, PARSE);
    if (parsed.success) {
      replicas.push(parsed.data);
      continue;
    }
    for (const issue of parsed.error.issues) {
      const [field] = issue.path;
      // The URL of a node that is also captured was checked as a source already.
      if (field === 'url' && feeding.has(l.to)) continue;
      const path =
        field === 'url'
          ? ['nodes', indexOf.get(l.to) ?? -1, 'url']
          : ['links', l.index, 'apply', ...issue.path];
      report({
        path: path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
        message: issue.message,
      });
    }
  }

  topology.links.forEach((link, index) => {
    for (const issue of checkOriginPriority(topology, link.apply.conflicts))
      report({ ...issue, path: ['links', index, 'apply', ...issue.path] });
  });

  const captureRules: Record<string, CaptureRule> = {};
  for (const name of feeding) {
    const incoming = links.flatMap((l) =>
      l.to === name && l.marker !== null ? [{ ...l, marker: l.marker }] : [],
    );
    // Each marker of a link names the node the change was first written on; a two-way link's are all dropped.
    const markers = (l: CompiledLink & { marker: string }): [marker: string, node: string][] => [
      [l.marker, l.from],
      ...Object.entries(l.originals).map(([node, marker]): [string, string] => [marker, node]),
    ];
    captureRules[name] = {
      origins: Object.fromEntries(incoming.flatMap(markers)),
      drop: incoming.filter((l) => isTwoWay(l.shape)).flatMap((l) => markers(l).map(([marker]) => marker)),
    };
  }
  return { sources, replicas, topology: { nodes: topology.nodes, links, captureRules } };
}

/**
 * The nodes other than `node` whose changes `node`'s changelog names: those it receives over marked cascade or
 * fan-in links (pair and mesh links' are dropped at its capture), and, into a PostgreSQL node (whose sinks mark
 * a change with its original node), what those nodes' changelogs name in turn. A MariaDB node's binlog has one
 * server id per link, so its changelog names only the node one hop up.
 */
function upstreamOf(
  node: string,
  links: readonly DirectedLink[],
  nodeOf: (name: string) => TopologyNode,
): Set<string> {
  const found = new Set<string>();
  const visit = (to: string) => {
    const target = nodeOf(to);
    if (!target.origins) return;
    for (const l of links)
      if (l.to === to && !isTwoWay(l.shape) && l.from !== node && !found.has(l.from)) {
        found.add(l.from);
        if (target.kind === 'postgres') visit(l.from);
      }
  };
  visit(node);
  return found;
}

/** A link's marking: its own `apply.originMarking`, else its target node's (a wrong value is reported by the replica schema). */
function linkMarking(topology: Topology, index: number, target: TopologyNode): OriginMarkingMode {
  const own = topology.links[index]?.apply.originMarking;
  return ORIGIN_MARKINGS.find((mode) => mode === own) ?? target.originMarking;
}

/** A source field reported at the node: its own fields where the node has them, the rest under `capture`. */
function nodeFieldPath(path: readonly PropertyKey[]): (string | number)[] {
  const plain = path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
  const [field] = plain;
  return field === 'url' || field === 'name' || field === 'kind' ? plain : ['capture', ...plain];
}

/**
 * `conflicts.originPriority` ranks nodes by name: a name that is not a node of the topology (a typo) would rank
 * nobody, silently, so it is refused.
 */
function checkOriginPriority(topology: Topology, conflicts: unknown): CompileIssue[] {
  const priority =
    typeof conflicts === 'object' && conflicts !== null
      ? (conflicts as Record<string, unknown>).originPriority
      : undefined;
  if (!Array.isArray(priority)) return [];
  const names = topology.nodes.map((entry) => entry.name);
  return priority.flatMap((name: unknown, index) =>
    typeof name === 'string' && !names.includes(name)
      ? [
          {
            path: ['conflicts', 'originPriority', index],
            message: `${JSON.stringify(name)} is not a node of the topology (nodes: ${names.join(', ')})`,
          },
        ]
      : [],
  );
}

/**
 * A link's conflict handling: on by default for pair and mesh links between PostgreSQL nodes (writers on
 * both sides), off otherwise; a row written locally at the target is the `to` node's.
 */
function linkConflicts(
  l: { readonly to: string; readonly shape: LinkShape },
  target: TopologyNode,
  fromKind: string,
  given: unknown,
  marking: OriginMarkingMode,
): { conflicts?: unknown } {
  const own = typeof given === 'object' && given !== null ? given : {};
  // The target's own deletes must leave tombstones from the start: its captured tables are the ones replicated.
  const captured = target.capture.tables;
  const localTables = Array.isArray(captured) ? captured : target.kind === 'postgres' ? ['public.*'] : [];
  const defaults = { node: l.to, localTables };
  // A marker row leaves no per-row origin to compare versions by: off unless asked for (then refused).
  if (isTwoWay(l.shape) && target.kind === 'postgres' && fromKind === 'postgres' && marking !== 'marker-row')
    return { conflicts: { enabled: true, ...defaults, ...own } };
  return given === undefined ? {} : { conflicts: { ...defaults, ...own } };
}
