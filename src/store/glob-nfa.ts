// A glob matcher whose time is linear in the path: a Thompson NFA run as a Pike VM (Russ Cox,
// "Regular Expression Matching: the Virtual Machine Approach"). glob.ts compiles a glob to a
// JavaScript RegExp, whose backtracking takes exponential time on patterns like `*a*a*a*a*b`
// against a long name; globs that can backtrack like that are matched here instead.
//
// The VM gives the same answer and the same captures as the RegExp it stands for: threads run in
// the RegExp's priority order (greedy loops prefer another turn, alternatives go left to right),
// and the first thread to reach the end of the path wins, as the first path a backtracking
// engine finds would. `!(…)`'s negative lookahead depends only on the position it starts at, so
// for every position it is decided before the run, by one backward pass over the path with the
// lookahead's own automaton reversed: O(path × pattern) in all.
import type { GlobNode } from './glob-node.js';

type State =
  | { kind: 'char'; test: (c: string) => boolean; out: number }
  | { kind: 'split'; outs: number[] }
  | { kind: 'save'; slot: number; out: number }
  /** passes where lookahead `la` does NOT match (a negative lookahead) */
  | { kind: 'assert'; la: number; out: number }
  | { kind: 'match' };

interface Lookahead {
  start: number;
  accept: number;
  /** the body must end before a `/` or at the end of the path (else anywhere) */
  atSegmentEnd: boolean;
}

export interface NfaMatcher {
  /** null when `path` does not match; otherwise the capture groups' texts ('' for a group that did not take part) */
  match(path: string): string[] | null;
}

const notSlash = (c: string) => c !== '/';
const any = () => true;

class Builder {
  readonly states: State[] = [];
  readonly lookaheads: Lookahead[] = [];
  private group = 0;

  constructor(private readonly charRegex: (node: GlobNode) => string) {}

  add(s: State): number {
    this.states.push(s);
    return this.states.length - 1;
  }

  /** Compile `nodes` so that they continue at `next`; returns the entry state. */
  seq(nodes: readonly GlobNode[], next: number, atSegmentEnd: boolean): number {
    // group numbers follow opening parens left to right: number the groups first, then build
    // back to front
    return this.seqNumbered(nodes, nodes.map((n) => this.number(n)), next, atSegmentEnd);
  }

  /** The group numbers of `n` and of every group inside it, in opening-paren order. */
  private number(n: GlobNode): Numbered {
    if (n.kind === 'group') {
      const own = this.group++;
      return { own, alts: n.alts.map((alt) => alt.map((m) => this.number(m))) };
    }
    if (n.kind === 'braces') return { own: -1, alts: n.alts.map((alt) => alt.map((m) => this.number(m))) };
    return { own: -1, alts: [] };
  }

  private seqNumbered(nodes: readonly GlobNode[], numbered: readonly Numbered[], next: number, atSegmentEnd: boolean): number {
    let at = next;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const following = nodes[i + 1];
      const endsHere = following === undefined ? atSegmentEnd : following.kind === 'text' && following.value.startsWith('/');
      at = this.node(nodes[i]!, numbered[i]!, at, endsHere);
    }
    return at;
  }

  private alts(alts: readonly (readonly GlobNode[])[], numbered: Numbered, next: number, atSegmentEnd: boolean): number {
    const entries = alts.map((alt, i) => this.seqNumbered(alt, numbered.alts[i]!, next, atSegmentEnd));
    return entries.length === 1 ? entries[0]! : this.add({ kind: 'split', outs: entries });
  }

  /** A greedy loop: `body` as many times as it matches (at least `min` 0 or 1), then `next`. */
  private loop(body: (continueAt: number) => number, next: number, min: 0 | 1): number {
    const split = this.add({ kind: 'split', outs: [] });
    const entry = body(split);
    (this.states[split] as { outs: number[] }).outs = [entry, next];
    return min === 1 ? entry : split;
  }

  private node(n: GlobNode, numbered: Numbered, next: number, atSegmentEnd: boolean): number {
    switch (n.kind) {
      case 'text': {
        let at = next;
        const chars = [...n.value];
        for (let i = chars.length - 1; i >= 0; i--) {
          const c = chars[i]!;
          at = this.add({ kind: 'char', test: (x) => x === c, out: at });
        }
        return at;
      }
      case 'star':
        return this.loop((k) => this.add({ kind: 'char', test: notSlash, out: k }), next, 0);
      case 'super':
        return this.loop((k) => this.add({ kind: 'char', test: any, out: k }), next, 0);
      case 'single':
        return this.add({ kind: 'char', test: notSlash, out: next });
      case 'class': {
        const re = new RegExp(`^(?:${this.charRegex(n)})$`, 'su');
        return this.add({ kind: 'char', test: (x) => re.test(x), out: next });
      }
      case 'braces':
        return this.alts(n.alts, numbered, next, atSegmentEnd);
      case 'group': {
        const g = numbered.own;
        const close = this.add({ kind: 'save', slot: 2 * g + 1, out: next });
        let body: number;
        switch (n.op) {
          case '@':
            body = this.alts(n.alts, numbered, close, atSegmentEnd);
            break;
          case '?':
            body = this.add({ kind: 'split', outs: [this.alts(n.alts, numbered, close, atSegmentEnd), close] });
            break;
          case '*':
          case '+':
            body = this.loop((k) => this.alts(n.alts, numbered, k, atSegmentEnd), close, n.op === '+' ? 1 : 0);
            break;
          case '!': {
            // ((?:(?!(?:body)end)[^/]*)): refuse a start where the body matches, then take the rest of the segment
            const accept = this.add({ kind: 'match' });
            const start = this.alts(n.alts, numbered, accept, atSegmentEnd);
            this.lookaheads.push({ start, accept, atSegmentEnd });
            const la = this.lookaheads.length - 1;
            const rest = this.loop((k) => this.add({ kind: 'char', test: notSlash, out: k }), close, 0);
            body = this.add({ kind: 'assert', la, out: rest });
            break;
          }
        }
        return this.add({ kind: 'save', slot: 2 * g, out: body });
      }
    }
  }
}

interface Numbered {
  own: number;
  alts: Numbered[][];
}

/** Compile a parsed glob (glob.ts's nodes) with `groups` capture groups. */
export function compileNfa(nodes: readonly GlobNode[], groups: number, charRegex: (node: GlobNode) => string): NfaMatcher {
  const b = new Builder(charRegex);
  const accept = b.add({ kind: 'match' });
  const start = b.seq(nodes, accept, true);
  const { states, lookaheads } = b;
  const reverse = reverseEdges(states);
  return {
    match(path: string): string[] | null {
      const cps = [...path];
      // an inner lookahead always comes before the one around it, so each table finds those it needs
      const la: Uint8Array[] = [];
      for (const l of lookaheads) la.push(lookaheadTable(states, reverse, l, cps, la));
      if (groups === 0) return accepts(states, start, accept, cps, la) ? [] : null;
      const slots = run(states, start, accept, cps, la, 2 * groups);
      if (!slots) return null;
      const out: string[] = new Array(groups);
      for (let g = 0; g < groups; g++) {
        const s = slots[2 * g];
        const e = slots[2 * g + 1];
        out[g] = s === undefined || e === undefined || s < 0 || e < 0 ? '' : cps.slice(s, e).join('');
      }
      return out;
    },
  };
}

/** Captures of one thread: slot → position, -1 unset. Shared until written (copy on save). */
type Caps = Int32Array;

/** The Pike VM: anchored at both ends; returns the winning thread's slots, or null. */
function run(states: readonly State[], start: number, accept: number, cps: readonly string[], la: readonly Uint8Array[], slotCount: number): Caps | null {
  const n = cps.length;
  let clist: { state: number; caps: Caps }[] = [];
  let nlist: { state: number; caps: Caps }[] = [];
  const mark = new Int32Array(states.length).fill(-1);
  let gen = 0;
  const addThread = (list: { state: number; caps: Caps }[], s: number, caps: Caps, pos: number) => {
    // iterative depth-first walk in priority order
    const stack: { s: number; caps: Caps }[] = [{ s, caps }];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (mark[t.s] === gen) continue;
      mark[t.s] = gen;
      const st = states[t.s]!;
      switch (st.kind) {
        case 'split':
          for (let i = st.outs.length - 1; i >= 0; i--) stack.push({ s: st.outs[i]!, caps: t.caps });
          break;
        case 'save': {
          const c = t.caps.slice();
          c[st.slot] = pos;
          stack.push({ s: st.out, caps: c });
          break;
        }
        case 'assert':
          if (!la[st.la]![pos]) stack.push({ s: st.out, caps: t.caps });
          break;
        default:
          list.push({ state: t.s, caps: t.caps });
      }
    }
  };
  gen++;
  addThread(clist, start, new Int32Array(slotCount).fill(-1), 0);
  for (let pos = 0; ; pos++) {
    if (pos === n) {
      for (const t of clist) if (t.state === accept) return t.caps;
      return null;
    }
    if (clist.length === 0) return null;
    gen++;
    const c = cps[pos]!;
    for (const t of clist) {
      const st = states[t.state]!;
      if (st.kind === 'char' && st.test(c)) addThread(nlist, st.out, t.caps, pos + 1);
    }
    [clist, nlist] = [nlist, clist];
    nlist.length = 0;
  }
}

/** The VM without captures (most globs have no groups): state sets as plain number lists. */
function accepts(states: readonly State[], start: number, accept: number, cps: readonly string[], la: readonly Uint8Array[]): boolean {
  const mark = new Int32Array(states.length).fill(-1);
  let clist: number[] = [];
  let nlist: number[] = [];
  const stack: number[] = [];
  const add = (list: number[], s0: number, pos: number) => {
    stack.push(s0);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (mark[s] === pos) continue;
      mark[s] = pos;
      const st = states[s]!;
      if (st.kind === 'split') for (let i = st.outs.length - 1; i >= 0; i--) stack.push(st.outs[i]!);
      else if (st.kind === 'save') stack.push(st.out);
      else if (st.kind === 'assert') {
        if (!la[st.la]![pos]) stack.push(st.out);
      } else list.push(s);
    }
  };
  add(clist, start, 0);
  for (let pos = 0; pos < cps.length; pos++) {
    if (clist.length === 0) return false;
    const c = cps[pos]!;
    for (const s of clist) {
      const st = states[s]!;
      if (st.kind === 'char' && st.test(c)) add(nlist, st.out, pos + 1);
    }
    [clist, nlist] = [nlist, clist];
    nlist.length = 0;
  }
  return clist.includes(accept);
}

interface Reverse {
  /** per state: the states with an epsilon edge to it (split, save, assert with its lookahead) */
  eps: { from: number; la: number }[][];
  /** per state: the char states whose edge leads to it */
  chars: number[][];
}

function reverseEdges(states: readonly State[]): Reverse {
  const eps: { from: number; la: number }[][] = states.map(() => []);
  const chars: number[][] = states.map(() => []);
  states.forEach((st, i) => {
    switch (st.kind) {
      case 'split':
        for (const o of st.outs) eps[o]!.push({ from: i, la: -1 });
        break;
      case 'save':
        eps[st.out]!.push({ from: i, la: -1 });
        break;
      case 'assert':
        eps[st.out]!.push({ from: i, la: st.la });
        break;
      case 'char':
        chars[st.out]!.push(i);
        break;
      case 'match':
        break;
    }
  });
  return { eps, chars };
}

/**
 * For every position p of the path: 1 where the lookahead's body matches from p (ending where it
 * must), else 0. One pass from the end of the path to its start over the reversed automaton: the
 * set at p holds the states from which the body's accept state is reachable.
 */
function lookaheadTable(states: readonly State[], rev: Reverse, l: Lookahead, cps: readonly string[], inner: readonly Uint8Array[]): Uint8Array {
  const n = cps.length;
  const table = new Uint8Array(n + 1);
  const mark = new Int32Array(states.length).fill(-1);
  let next: number[] = [];
  for (let p = n; p >= 0; p--) {
    const seed: number[] = [];
    if (!l.atSegmentEnd || p === n || cps[p] === '/') seed.push(l.accept);
    if (p < n) for (const y of next) for (const x of rev.chars[y]!) if ((states[x] as { test: (c: string) => boolean }).test(cps[p]!)) seed.push(x);
    const set: number[] = [];
    const stack = seed;
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (mark[s] === p) continue;
      mark[s] = p;
      set.push(s);
      for (const e of rev.eps[s]!) {
        if (e.la >= 0 && inner[e.la]![p]) continue;
        stack.push(e.from);
      }
    }
    table[p] = mark[l.start] === p ? 1 : 0;
    next = set;
  }
  return table;
}
