// Drawings: the commit graph beside a history table (one lane per line of descent), and the
// pipeline DAG (repos and pipelines in columns, inputs as curves).
import type { CommitInfo, Dag } from '../../src/console/api-types.js';
import { encodePath, fmtBytes, s } from './dom.js';

const LANE = 14;
const ROW = 34;
const DOT = 5;

export interface LaneRow {
  lane: number;
  /** lanes holding a line coming in from the row above (expected commit ids) */
  above: (string | null)[];
  /** lanes holding a line going on to the row below */
  below: (string | null)[];
}

/**
 * Assign commits (newest first) to lanes: a commit takes the lane that expects it (its child's),
 * and its lane then expects its parent. Several children of one parent meet at the parent.
 */
export function layoutLanes(commits: CommitInfo[]): LaneRow[] {
  let lanes: (string | null)[] = [];
  const rows: LaneRow[] = [];
  for (const c of commits) {
    let lane = lanes.indexOf(c.id);
    if (lane < 0) {
      lane = lanes.indexOf(null);
      if (lane < 0) lane = lanes.push(null) - 1;
    }
    const above = lanes.slice();
    const below = lanes.map((id) => (id === c.id ? null : id));
    below[lane] = c.parent;
    while (below.length > 0 && below[below.length - 1] === null) below.pop();
    rows.push({ lane, above, below });
    lanes = below;
  }
  return rows;
}

const ORIGIN_CLASS: Record<string, string> = { USER: 'user', AUTO: 'auto', ALIAS: 'alias', FSCK: 'fsck' };

/** The graph cell of one history row. */
export function laneCell(row: LaneRow, commit: CommitInfo, width: number): SVGSVGElement {
  const x = (i: number) => LANE / 2 + i * LANE;
  const mid = ROW / 2;
  const parts: SVGElement[] = [];
  row.above.forEach((id, i) => {
    if (id === null) return;
    // a line into this commit bends to its dot; any other passes straight through
    if (id === commit.id) parts.push(s('path', { d: `M${x(i)} 0 L${x(row.lane)} ${mid}`, class: 'lane' }));
    else parts.push(s('path', { d: `M${x(i)} 0 L${x(i)} ${mid}`, class: 'lane' }));
  });
  row.below.forEach((id, i) => {
    if (id === null) return;
    parts.push(s('path', { d: `M${i === row.lane ? x(row.lane) : x(i)} ${mid} L${x(i)} ${ROW}`, class: 'lane' }));
  });
  parts.push(s('circle', { cx: x(row.lane), cy: mid, r: DOT, class: `dot dot-${ORIGIN_CLASS[commit.origin] ?? 'user'}` }, s('title', null, commit.origin)));
  return s('svg', { width: Math.max(width, 1) * LANE, height: ROW, class: 'lanes', 'aria-hidden': 'true' }, ...parts);
}

// ─── the pipeline DAG ────────────────────────────────────────────────────────────────────────

const NODE_W = 170;
const NODE_H = 50;
const COL = 250;
const ROWH = 76;
const PAD = 16;

/** The DAG as an SVG whose nodes link to the repo or pipeline pages. */
export function dagSvg(dag: Dag): SVGSVGElement {
  const pos = new Map(dag.nodes.map((n) => [n.id, { x: PAD + n.layer * COL, y: PAD + n.order * ROWH }]));
  const width = PAD * 2 + Math.max(0, ...dag.nodes.map((n) => n.layer)) * COL + NODE_W;
  const height = PAD * 2 + Math.max(0, ...dag.nodes.map((n) => n.order)) * ROWH + NODE_H;
  const edges = dag.edges.map((e) => {
    const a = pos.get(e.from)!;
    const b = pos.get(e.to)!;
    const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
    const c = (x2 - x1) / 2;
    return s(
      'g',
      { class: 'edge', 'data-from': e.from, 'data-to': e.to },
      s('path', { d: `M${x1} ${y1} C${x1 + c} ${y1} ${x2 - c} ${y2} ${x2} ${y2}`, 'marker-end': 'url(#arrow)' }),
      s('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, 'text-anchor': 'middle', class: 'edge-label' }, e.label),
    );
  });
  const nodes = dag.nodes.map((n) => {
    const p = pos.get(n.id)!;
    const href = n.kind === 'pipeline' ? `#/pipeline/${encodePath(n.id)}` : `#/repo/${encodePath(n.id)}`;
    const sub = n.kind === 'pipeline' ? `pipeline · ${n.pipelineState === 'paused' ? 'paused' : (n.state ?? 'no jobs')}` : `repo · ${fmtBytes(n.sizeBytes)}`;
    const stateClass = n.kind === 'pipeline' ? ` state-${n.pipelineState === 'paused' ? 'paused' : (n.state ?? 'none')}` : '';
    return s(
      'a',
      { href, class: `node node-${n.kind}${stateClass}`, 'data-node': n.id },
      s('rect', { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 8 }),
      s('text', { x: p.x + 12, y: p.y + 21, class: 'node-name' }, n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id),
      s('text', { x: p.x + 12, y: p.y + 38, class: 'node-sub' }, sub),
      s('title', null, n.id),
    );
  });
  const defs = s(
    'defs',
    null,
    s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0 0 L10 5 L0 10 z', class: 'arrow' })),
  );
  return s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'dag', 'data-testid': 'dag', role: 'img', 'aria-label': 'pipeline graph' }, defs, ...edges, ...nodes);
}
