// The pipeline graph: repos and pipelines as nodes, inputs as edges, laid out in columns by the
// longest path from a source so that every edge points rightwards.
import { inputRepos } from '../pipeline/spec.js';
import type { InputSpec } from '../pipeline/spec-types.js';
import type { Dag, DagEdge, DagNode } from './api-types.js';
import type { ConsoleData, ConsolePipelines } from './services.js';

export async function buildDag(store: ConsoleData, service: ConsolePipelines): Promise<Dag> {
  const pipelines = await service.list();
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  const nodes = new Map<string, DagNode>();
  for (const r of await store.listRepos({ all: true })) {
    const p = byName.get(r.name);
    nodes.set(r.name, {
      id: r.name,
      kind: p ? 'pipeline' : 'repo',
      layer: 0,
      order: 0,
      state: p ? p.lastJobState : null,
      ...(p ? { pipelineState: p.state } : {}),
      sizeBytes: r.sizeBytes,
    });
  }
  const edges: DagEdge[] = [];
  const seen = new Set<string>();
  for (const p of pipelines) {
    for (const i of inputRepos(p.spec.input)) {
      const key = `${i.repo}→${p.name}@${i.branch}`;
      if (seen.has(key) || !nodes.has(i.repo)) continue;
      seen.add(key);
      edges.push({ from: i.repo, to: p.name, label: i.kind === 'cron' ? 'cron' : `${i.branch}:${globOf(p.spec.input, i.name)}` });
    }
  }
  layout([...nodes.values()], edges);
  const at = (id: string) => nodes.get(id)!;
  edges.sort((a, b) => at(a.from).layer - at(b.from).layer || at(a.from).order - at(b.from).order || at(a.to).order - at(b.to).order);
  return { nodes: [...nodes.values()].sort((a, b) => a.layer - b.layer || a.order - b.order), edges };
}

function globOf(input: InputSpec, name: string): string {
  if (input.kind === 'pfs') return input.name === name ? input.glob : '';
  if (input.kind === 'cron') return '';
  for (const i of input.inputs) {
    const g = globOf(i, name);
    if (g) return g;
  }
  return '';
}

/**
 * Columns by longest path from a source (the graph is acyclic). Rows by barycentres: down the
 * columns (mean row of the inputs), up (mean row of the consumers, so sources sit beside what
 * reads them; unconnected repos go last), and down again.
 */
function layout(nodes: DagNode[], edges: DagEdge[]): void {
  const preds = new Map<string, string[]>();
  const succs = new Map<string, string[]>();
  for (const e of edges) {
    preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
    succs.set(e.from, [...(succs.get(e.from) ?? []), e.to]);
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layerOf = new Map<string, number>();
  const visit = (id: string, depth: number): number => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    // a cycle cannot be created (pipeline-service refuses it); the depth bound is a guard only
    const ps = depth > nodes.length ? [] : (preds.get(id) ?? []);
    const layer = ps.length === 0 ? 0 : 1 + Math.max(...ps.map((p) => visit(p, depth + 1)));
    layerOf.set(id, layer);
    return layer;
  };
  for (const n of nodes) n.layer = visit(n.id, 0);
  const columns: DagNode[][] = [];
  for (const n of [...nodes].sort((a, b) => (a.id < b.id ? -1 : 1))) (columns[n.layer] ??= []).push(n);
  columns.forEach((col) => col.forEach((n, i) => (n.order = i)));
  const sweep = (col: DagNode[], links: Map<string, string[]>) => {
    const weight = (n: DagNode) => {
      const os = (links.get(n.id) ?? []).map((id) => byId.get(id)!.order);
      return os.length ? os.reduce((a, b) => a + b, 0) / os.length : 1e9;
    };
    const w = new Map(col.map((n) => [n.id, weight(n)]));
    col.sort((a, b) => w.get(a.id)! - w.get(b.id)! || a.order - b.order);
    col.forEach((n, i) => (n.order = i));
  };
  for (let k = 1; k < columns.length; k++) sweep(columns[k]!, preds);
  for (let k = columns.length - 2; k >= 0; k--) sweep(columns[k]!, succs);
  for (let k = 1; k < columns.length; k++) sweep(columns[k]!, preds);
}
