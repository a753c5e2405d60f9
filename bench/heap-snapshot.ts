// A V8 heap snapshot (.heapsnapshot JSON, as the inspector streams it) summarised for comparing
// two moments of one process: self size and count per constructor, and the biggest single objects
// with what holds them (a Map's or WeakMap's table is one big array: its holder names the map).

export interface ConstructorTotal {
  /** `<node type>:<constructor or name>`, e.g. `object:Date`, `array:(object elements)`. */
  what: string;
  count: number;
  bytes: number;
}

export interface BigObject {
  what: string;
  bytes: number;
  /** Up to three holders, nearest first: `<edge name> of <holder>`. */
  heldBy: string;
}

export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  byConstructor: Map<string, ConstructorTotal>;
  /** The same totals by constructor and by what holds each object, three holders up (first holder found). */
  byHolder: Map<string, ConstructorTotal>;
  biggest: BigObject[];
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Strings are summarised by kind, not by content (each distinct text would be its own row). */
const BY_TYPE_ONLY = new Set(['string', 'concatenated string', 'sliced string', 'number', 'hidden', 'code']);

export function summariseHeapSnapshot(json: string, biggestCount = 25): HeapSummary {
  const raw = JSON.parse(json) as RawSnapshot;
  const { meta } = raw.snapshot;
  const nodeWidth = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const edgeToAt = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = raw;
  const count = nodes.length / nodeWidth;

  const label = (n: number) => {
    const type = nodeTypes[nodes[n * nodeWidth + typeAt]!]!;
    return BY_TYPE_ONLY.has(type) ? type : `${type}:${strings[nodes[n * nodeWidth + nameAt]!]}`;
  };
  const byConstructor = new Map<string, ConstructorTotal>();
  let totalBytes = 0;
  for (let n = 0; n < count; n++) {
    const what = label(n);
    const bytes = nodes[n * nodeWidth + sizeAt]!;
    totalBytes += bytes;
    const total = byConstructor.get(what);
    if (total) {
      total.count += 1;
      total.bytes += bytes;
    } else byConstructor.set(what, { what, count: 1, bytes });
  }

  // The biggest objects, then who points at them (one pass over every edge, weak ones skipped).
  const order = Array.from({ length: count }, (_, n) => n)
    .sort((a, b) => nodes[b * nodeWidth + sizeAt]! - nodes[a * nodeWidth + sizeAt]!)
    .slice(0, biggestCount);
  const wanted = new Map<number, string[]>(order.map((n) => [n * nodeWidth, []]));
  const holders = new Map<number, string[]>();
  const holdersOf = (nodeOffset: number) => {
    let list = holders.get(nodeOffset);
    if (!list) holders.set(nodeOffset, (list = []));
    return list;
  };
  const edgeLabel = (e: number) => {
    const type = edgeTypes[edges[e + edgeTypeAt]!]!;
    const name = edges[e + edgeNameAt]!;
    return type === 'element' || type === 'hidden' ? `[${name}]` : strings[name]!;
  };
  // Holders two levels up for the wanted nodes: first their direct holders, then those holders' holders.
  const collect = (targets: Map<number, string[]>, into: (holder: number, target: number, edge: string) => void) => {
    let e = 0;
    for (let n = 0; n < count; n++) {
      const edgeCount = nodes[n * nodeWidth + edgeCountAt]!;
      for (let i = 0; i < edgeCount; i++, e += edgeWidth) {
        if (edgeTypes[edges[e + edgeTypeAt]!] === 'weak') continue;
        const to = edges[e + edgeToAt]!;
        if (targets.has(to)) into(n * nodeWidth, to, edgeLabel(e));
      }
    }
  };
  const direct = new Map<number, { holder: number; edge: string }[]>();
  collect(wanted, (holder, target, edge) => {
    const list = direct.get(target) ?? [];
    if (list.length < 3) list.push({ holder, edge });
    direct.set(target, list);
  });
  const second = new Map<number, string[]>();
  for (const list of direct.values()) for (const { holder } of list) second.set(holder, []);
  collect(second, (holder, target, edge) => {
    const list = holdersOf(target);
    if (list.length < 2) list.push(`${edge} of ${label(holder / nodeWidth)}`);
  });
  // Every object's first strong holder, to group objects by where they are kept.
  const holderOf = new Int32Array(count).fill(-1);
  const holderEdge = new Array<string>(count);
  {
    let e = 0;
    for (let n = 0; n < count; n++) {
      const edgeCount = nodes[n * nodeWidth + edgeCountAt]!;
      for (let i = 0; i < edgeCount; i++, e += edgeWidth) {
        const type = edgeTypes[edges[e + edgeTypeAt]!];
        if (type === 'weak' || type === 'shortcut') continue;
        const to = edges[e + edgeToAt]! / nodeWidth;
        if (holderOf[to] !== -1) continue;
        holderOf[to] = n;
        const name = type === 'element' || type === 'hidden' ? '[]' : strings[edges[e + edgeNameAt]!]!;
        // A table's slots are numbered, and a WeakMap's entries are named after their objects: one label each.
        holderEdge[to] = /^\d+$/.test(name) ? '[]' : name.includes(' pair in WeakMap') ? '(WeakMap entry)' : name;
      }
    }
  }
  const byHolder = new Map<string, ConstructorTotal>();
  for (let n = 0; n < count; n++) {
    let what = label(n);
    for (let at = n, up = 0; up < 3 && holderOf[at]! !== -1; up++, at = holderOf[at]!) what += ` ← ${holderEdge[at]} of ${label(holderOf[at]!)}`;
    const bytes = nodes[n * nodeWidth + sizeAt]!;
    const total = byHolder.get(what);
    if (total) {
      total.count += 1;
      total.bytes += bytes;
    } else byHolder.set(what, { what, count: 1, bytes });
  }

  const biggest = order.map((n) => ({
    what: label(n),
    bytes: nodes[n * nodeWidth + sizeAt]!,
    heldBy: (direct.get(n * nodeWidth) ?? [])
      .map(({ holder, edge }) => `${edge} of ${label(holder / nodeWidth)}${holders.get(holder)?.length ? ` (← ${holders.get(holder)!.join(', ')})` : ''}`)
      .join('; '),
  }));
  return { totalBytes, nodes: count, byConstructor, byHolder, biggest };
}

/** Constructors that grew from `before` to `after`, most bytes first. */
export function growth(before: HeapSummary, after: HeapSummary, top = 30, by: 'byConstructor' | 'byHolder' = 'byConstructor'): ConstructorTotal[] {
  const out: ConstructorTotal[] = [];
  for (const [what, total] of after[by]) {
    const was = before[by].get(what);
    out.push({ what, count: total.count - (was?.count ?? 0), bytes: total.bytes - (was?.bytes ?? 0) });
  }
  return out.sort((a, b) => b.bytes - a.bytes).slice(0, top);
}
