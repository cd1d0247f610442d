/**
 * Topologies in the configuration: databases as `nodes` and replication between them as `links`, each link of
 * a shape (cascade, pair, mesh, fan-in). Validated here with errors naming the node or link, then compiled into
 * what the pipeline already runs (topology-compile.ts): a source per node that feeds a link, an apply worker
 * per directed link, and a capture rule per node saying which replicated transactions it publishes again.
 */
import { z } from 'zod';

/** Same rule as every component name (schema.ts): names become topic, group and origin names. */
const nodeName = z.string().regex(/^[a-z0-9_-]+$/, {
  error: 'must use only lowercase letters, digits, "_" and "-"',
});

export const LINK_SHAPES = ['cascade', 'pair', 'mesh', 'fan-in'] as const;
export type LinkShape = (typeof LINK_SHAPES)[number];

const shape = z.enum(LINK_SHAPES);

/** How a link marks its writes in the target (services/pipeline/topology-origins.ts decides `auto`). */
export const ORIGIN_MARKINGS = ['auto', 'native', 'marker-row'] as const;
export type OriginMarkingMode = (typeof ORIGIN_MARKINGS)[number];

const serverNumber = (what: string, max: number) =>
  z
    .int({ error: `must be an integer from ${what}` })
    .min(0, { error: `must be an integer from ${what}` })
    .max(max, { error: `must be an integer from ${what}` });

const node = z.strictObject({
  name: nodeName.meta({ description: 'Unique node name; names its changelog topic and the links to it.' }),
  kind: z.enum(['postgres', 'mariadb', 'mysql']).meta({ description: 'Database kind of the node.' }),
  url: z.string().min(1, { error: 'must not be empty' }).meta({
    description:
      'Database URL: captured when the node feeds a link (needs REPLICATION, or REPLICATION SLAVE/CLIENT), written when a link ends at it.',
  }),
  region: z.string().min(1).optional().meta({ description: 'Region the node runs in (shown in status).' }),
  serverId: serverNumber('1 to 4294967295', 4_294_967_295).min(1).optional().meta({
    description:
      "MariaDB/MySQL only: the server's own `@@server_id`. Required, and distinct, for MariaDB nodes in a pair or mesh.",
  }),
  gtidDomainId: serverNumber('0 to 4294967295', 4_294_967_295).optional().meta({
    description:
      "MariaDB only: the server's own `@@gtid_domain_id`. Required, and distinct, for MariaDB nodes in a pair or mesh.",
  }),
  origins: z.boolean().default(true).meta({
    description:
      'Mark what links write into this node with its origin (replication origin or session server_id). Pair and mesh nodes need it: it is what keeps a change from going round.',
  }),
  originMarking: z.enum(ORIGIN_MARKINGS).default('auto').meta({
    description:
      'How links mark what they write into this node: `native` (PostgreSQL replication origin, MariaDB session server_id), `marker-row` (a row of `cdc_apply.origin_marks` written first in each transaction; needs no privilege, rules out conflict handling), or `auto` (native where the user may, else marker-row; said per link at start-up).',
  }),
  capture: z.record(z.string(), z.unknown()).default({}).meta({
    description:
      'Further source settings for capturing this node (`tables`, `snapshot`, `slot`, ...: see `sources[]`).',
  }),
});

const link = z.strictObject({
  from: nodeName.meta({ description: 'Node whose changes flow over the link.' }),
  to: nodeName.meta({ description: 'Node the link writes into.' }),
  shape: shape.optional().meta({ description: 'Shape of this link; default `topology.shape`.' }),
  apply: z.record(z.string(), z.unknown()).default({}).meta({
    description: 'Further apply settings of the link (`onError`, `batch`: see `replicas[]`).',
  }),
});

export const topologySchema = z
  .strictObject({
    shape: shape.optional().meta({
      description:
        '`cascade` (one way, tiers re-publish what they applied), `pair` and `mesh` (both ways; a node publishes only its own writes), `fan-in` (several shards into one replica).',
    }),
    nodes: z
      .array(node)
      .min(2, { error: 'must list at least 2 nodes' })
      .meta({ description: 'Databases taking part.' }),
    links: z
      .array(link)
      .min(1, { error: 'must list at least one link' })
      .meta({ description: 'Replication between nodes; a pair or mesh link runs both ways.' }),
  })
  .superRefine((topology, ctx) => {
    for (const problem of topologyProblems(topology)) ctx.addIssue({ code: 'custom', ...problem });
  });

export type TopologyInput = z.input<typeof topologySchema>;
export type Topology = z.output<typeof topologySchema>;
export type TopologyNode = Topology['nodes'][number];

/** One direction of a link: a pair or mesh link gives two, a cascade or fan-in link one. */
export interface DirectedLink {
  readonly from: string;
  readonly to: string;
  readonly shape: LinkShape;
  /** Index in `links`, for error paths. */
  readonly index: number;
}

export const isTwoWay = (linkShape: LinkShape): boolean => linkShape === 'pair' || linkShape === 'mesh';

export function directedLinks(topology: Pick<Topology, 'shape' | 'links'>): DirectedLink[] {
  return topology.links.flatMap((entry, index) => {
    const linkShape = entry.shape ?? topology.shape;
    if (linkShape === undefined) return [];
    const forward = { from: entry.from, to: entry.to, shape: linkShape, index };
    return isTwoWay(linkShape) ? [forward, { ...forward, from: entry.to, to: entry.from }] : [forward];
  });
}

export const linkLabel = (l: Pick<DirectedLink, 'from' | 'to' | 'shape'>): string =>
  `${l.from} ${isTwoWay(l.shape) ? '⇄' : '→'} ${l.to} (${l.shape})`;

interface Problem {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Everything wrong with a topology, each problem at the node or link it is about. */
export function topologyProblems(topology: Topology): Problem[] {
  const problems: Problem[] = [];
  const nodes = new Map<string, number>();
  topology.nodes.forEach((entry, index) => {
    const first = nodes.get(entry.name);
    if (first === undefined) nodes.set(entry.name, index);
    else
      problems.push({
        path: ['nodes', index, 'name'],
        message: `duplicate node name ${JSON.stringify(entry.name)} (also nodes[${first}].name)`,
      });
  });
  const known = [...nodes.keys()].map((name) => JSON.stringify(name)).join(', ');
  topology.links.forEach((entry, index) => {
    if (entry.shape === undefined && topology.shape === undefined)
      problems.push({
        path: ['links', index, 'shape'],
        message: `is required when topology.shape is not set (one of ${LINK_SHAPES.join(', ')})`,
      });
    for (const end of ['from', 'to'] as const) {
      if (!nodes.has(entry[end]))
        problems.push({
          path: ['links', index, end],
          message: `names no node: ${JSON.stringify(entry[end])} is not one of ${known}`,
        });
    }
    if (entry.from === entry.to)
      problems.push({ path: ['links', index, 'to'], message: `links node ${entry.from} to itself` });
  });
  if (problems.length > 0) return problems;

  const links = directedLinks(topology);
  const nodeOf = (name: string): TopologyNode => topology.nodes[nodes.get(name) ?? -1] as TopologyNode;
  problems.push(...duplicateLinks(links), ...cascadeCycles(links), ...incompleteMeshes(links));
  for (const l of links) {
    if (nodeOf(l.to).kind === 'mysql')
      problems.push({
        path: ['links', l.index, 'to'],
        message: `${linkLabel(l)}: node ${l.to} is MySQL, and links can write only into PostgreSQL or MariaDB`,
      });
  }
  problems.push(...twoWayNodeProblems(topology, links));
  return problems;
}

function duplicateLinks(links: readonly DirectedLink[]): Problem[] {
  const seen = new Map<string, DirectedLink>();
  const problems: Problem[] = [];
  for (const l of links) {
    const key = `${l.from}\u0000${l.to}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, l);
    else if (first.index !== l.index)
      problems.push({
        path: ['links', l.index],
        message: `${linkLabel(l)} repeats links[${first.index}] (${linkLabel(first)}): ${l.from} → ${l.to} may be linked once`,
      });
  }
  return problems;
}

/**
 * A cascade (or fan-in) link re-publishes what it applied, so a way back to where it started would send changes
 * round for ever: any cycle through such a link is refused, named by the link that closes it.
 */
function cascadeCycles(links: readonly DirectedLink[]): Problem[] {
  const next = new Map<string, DirectedLink[]>();
  for (const l of links) next.set(l.from, [...(next.get(l.from) ?? []), l]);
  const problems: Problem[] = [];
  const reported = new Set<number>();
  for (const l of links) {
    if (isTwoWay(l.shape) || reported.has(l.index)) continue;
    const back = pathBetween(next, l.to, l.from);
    if (back === null) continue;
    reported.add(l.index);
    const cycle = [l.from, l.to, ...back.map((step) => step.to)].join(' → ');
    problems.push({
      path: ['links', l.index],
      message: `${linkLabel(l)} closes the cycle ${cycle}: a ${l.shape} link must not lead back to its own start (for replication both ways use shape pair or mesh)`,
    });
  }
  return problems;
}

/** Links leading from `start` to `goal` (breadth first), or null when there is no way. */
function pathBetween(
  next: ReadonlyMap<string, readonly DirectedLink[]>,
  start: string,
  goal: string,
): DirectedLink[] | null {
  const via = new Map<string, DirectedLink[]>([[start, []]]);
  const queue = [start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    if (at === goal) return via.get(at) ?? [];
    for (const l of next.get(at) ?? []) {
      if (via.has(l.to)) continue;
      via.set(l.to, [...(via.get(at) ?? []), l]);
      queue.push(l.to);
    }
  }
  return null;
}

/**
 * A mesh node does not re-publish what it received over a mesh link, so every two nodes of a mesh need a link of
 * their own, or one never hears of the other's writes. A pair is a mesh of exactly two nodes.
 */
function incompleteMeshes(links: readonly DirectedLink[]): Problem[] {
  const twoWay = links.filter((l) => isTwoWay(l.shape));
  const linked = new Set(twoWay.map((l) => `${l.from}\u0000${l.to}`));
  const problems: Problem[] = [];
  for (const members of meshComponents(twoWay)) {
    const inPair = twoWay.find((l) => l.shape === 'pair' && members.includes(l.from));
    if (inPair !== undefined && members.length > 2)
      problems.push({
        path: ['links', inPair.index, 'shape'],
        message: `${linkLabel(inPair)}: a pair joins exactly two nodes, but ${members.join(', ')} are joined both ways: use shape mesh`,
      });
    for (const a of members)
      for (const b of members) {
        if (a >= b || linked.has(`${a}\u0000${b}`)) continue;
        const near = twoWay.find((l) => l.from === a || l.from === b) as DirectedLink;
        problems.push({
          path: ['links', near.index],
          message: `mesh nodes ${a} and ${b} have no link between them: a mesh node does not forward what it received, so neither would get the other's changes (add { from: ${a}, to: ${b}, shape: mesh })`,
        });
      }
  }
  return problems;
}

function meshComponents(twoWay: readonly DirectedLink[]): string[][] {
  const next = new Map<string, string[]>();
  for (const l of twoWay) next.set(l.from, [...(next.get(l.from) ?? []), l.to]);
  const seen = new Set<string>();
  const components: string[][] = [];
  for (const start of next.keys()) {
    if (seen.has(start)) continue;
    const members: string[] = [];
    const stack = [start];
    seen.add(start);
    for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
      members.push(at);
      for (const to of next.get(at) ?? []) {
        if (seen.has(to)) continue;
        seen.add(to);
        stack.push(to);
      }
    }
    components.push(members.sort());
  }
  return components;
}

/**
 * Nodes that take part in a pair or mesh must mark what links write into them (that is how their capture tells
 * replicated writes from local ones), and MariaDB/MySQL nodes there need their own server_id and gtid_domain_id:
 * two servers writing under one id would make each other's transactions look local (or skipped) in the binlog.
 */
function twoWayNodeProblems(topology: Topology, links: readonly DirectedLink[]): Problem[] {
  const problems: Problem[] = [];
  const idsSeen = { serverId: new Map<number, number>(), gtidDomainId: new Map<number, number>() };
  topology.nodes.forEach((entry, index) => {
    const twoWay = links.find((l) => isTwoWay(l.shape) && (l.from === entry.name || l.to === entry.name));
    if (twoWay !== undefined && !entry.origins)
      problems.push({
        path: ['nodes', index, 'origins'],
        message: `must be true: node ${entry.name} is in links[${twoWay.index}] (${linkLabel(twoWay)}), and without origins its capture cannot tell replicated writes from local ones, so they would be sent back (a loop)`,
      });
    if (entry.kind === 'postgres') {
      for (const field of ['serverId', 'gtidDomainId'] as const)
        if (entry[field] !== undefined)
          problems.push({ path: ['nodes', index, field], message: 'applies to MariaDB/MySQL nodes only' });
      return;
    }
    // MySQL has no GTID domains (its GTIDs name the server by uuid).
    const fields =
      entry.kind === 'mariadb' ? (['serverId', 'gtidDomainId'] as const) : (['serverId'] as const);
    if (entry.kind === 'mysql' && entry.gtidDomainId !== undefined)
      problems.push({ path: ['nodes', index, 'gtidDomainId'], message: 'applies to MariaDB nodes only' });
    for (const field of fields) {
      const value = entry[field];
      if (value === undefined) {
        if (twoWay !== undefined)
          problems.push({
            path: ['nodes', index, field],
            message: `is required: node ${entry.name} is in links[${twoWay.index}] (${linkLabel(twoWay)}), and each ${entry.kind} node of a pair or mesh needs its server's own ${field === 'serverId' ? 'server_id' : 'gtid_domain_id'}, distinct from the other nodes'`,
          });
        continue;
      }
      const first = idsSeen[field].get(value);
      if (first === undefined) idsSeen[field].set(value, index);
      else
        problems.push({
          path: ['nodes', index, field],
          message: `${value} is also nodes[${first}].${field} (${topology.nodes[first]?.name ?? '?'}): each MariaDB/MySQL node is a server of its own, with a distinct ${field === 'serverId' ? 'server_id' : 'gtid_domain_id'}`,
        });
    }
  });
  return problems;
}
