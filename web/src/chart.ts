// A small SVG line chart: one metric across model versions, a point per version with its value
// and commit on hover.
import { s } from './dom.js';

export interface ChartPoint {
  label: string;
  value: number | undefined;
  title: string;
  /** drawn as a marked point (e.g. a drift score past its threshold) */
  crossed?: boolean;
}

const W = 520;
const H = 200;
const M = { top: 14, right: 14, bottom: 30, left: 56 };

function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (lo === hi) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((st) => st >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** `threshold`: a dashed horizontal line at that value, kept inside the y range. */
export function lineChart(name: string, points: ChartPoint[], opts: { threshold?: number } = {}): SVGSVGElement {
  const values = points.map((p) => p.value).filter((v): v is number => v !== undefined);
  if (opts.threshold !== undefined) values.push(opts.threshold);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const x = (i: number) => M.left + (points.length <= 1 ? iw / 2 : (i * iw) / (points.length - 1));
  const y = (v: number) => M.top + ih - ((v - lo) / (hi - lo)) * ih;
  const parts: SVGElement[] = [];
  for (const t of niceTicks(lo, hi)) {
    parts.push(s('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'grid' }));
    parts.push(s('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(t)));
  }
  // at most ~8 x labels, so they never overlap
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    if (i % every === 0 || i === points.length - 1) parts.push(s('text', { x: x(i), y: H - 10, 'text-anchor': 'middle', class: 'tick' }, p.label));
  });
  let d = '';
  points.forEach((p, i) => {
    if (p.value === undefined) return;
    d += `${d === '' ? 'M' : 'L'}${x(i).toFixed(1)} ${y(p.value).toFixed(1)} `;
  });
  if (opts.threshold !== undefined) parts.push(s('line', { x1: M.left, x2: W - M.right, y1: y(opts.threshold), y2: y(opts.threshold), class: 'threshold', 'data-threshold': opts.threshold }));
  parts.push(s('path', { d, class: 'series' }));
  points.forEach((p, i) => {
    if (p.value === undefined) return;
    parts.push(s('circle', { cx: x(i), cy: y(p.value), r: p.crossed ? 5 : 3.5, class: p.crossed ? 'point crossed' : 'point', 'data-value': p.value }, s('title', null, `${p.title}: ${fmt(p.value)}`)));
  });
  return s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${name} across versions`, 'data-metric': name }, ...parts);
}
