// Pachyderm's glob dialect (ohmyglob with `/` as separator) compiled to one anchored RegExp,
// plus the `$n` templates that join_on / group_by build keys from.
import { InvalidArgumentError } from '../errors.js';
import { compileNfa } from './glob-nfa.js';
import type { GlobNode, GroupOp } from './glob-node.js';
import { cleanPath, escapeControlChars, normalizeName } from './paths.js';

export type { GlobNode };

/** A compiled glob; `match` takes absolute cleaned paths without a trailing slash. */
export interface CompiledGlob {
  /** The cleaned pattern: `*` → `/*`, trailing `/` removed, `/` stays `/`. */
  readonly pattern: string;
  /** Anchored; its capture groups are exactly the extglob groups, in opening-paren order. */
  readonly regex: RegExp;
  readonly captureCount: number;
  /** Every match equals this path or lies beneath it (escapes removed), so a walk can start here. */
  readonly literalPrefix: string;
  /** No unescaped glob character: the pattern matches `literalPrefix` and nothing else. */
  readonly isLiteral: boolean;
  /** null when `path` does not match; otherwise $1..$n, '' for a group that did not take part. */
  match(path: string): string[] | null;
}

type Node = GlobNode;

// Pachyderm's reserved set (the same one write paths reject).
const GLOB_CHARS = new Set('*?[]{}!()@+^');

const POSIX_CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  blank: ' \\t',
  digit: '0-9',
  lower: 'a-z',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\s',
  upper: 'A-Z',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
};

/** Whether `s` holds an unescaped glob character (`* ? [ ] { } ! ( ) @ + ^`). */
export function hasGlobChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (GLOB_CHARS.has(s[i])) return true;
  }
  return false;
}

/**
 * Compile a glob; bad syntax throws InvalidArgumentError `invalid glob "<glob>": <reason>`.
 * `engine` picks the matcher (tests compare the two); by default the RegExp where it is linear.
 */
export function compileGlob(raw: string, opts: { engine?: 'regex' | 'nfa' } = {}): CompiledGlob {
  // names are stored in NFC: a pattern in another form must match them
  const glob = normalizeName(raw);
  const pattern = cleanPath(glob);
  const parser = new GlobParser(glob, pattern);
  const nodes = parser.parseTop();
  const captureCount = parser.groups;
  const regex = new RegExp(`^${compileSeq(nodes, true)}$`, 'su');
  const { literalPrefix, isLiteral } = splitLiteralPrefix(pattern);
  const isRoot = pattern === '/';
  // the RegExp backtracks; where that can take more than linear time, the NFA matches instead
  const useNfa = opts.engine === undefined ? !backtracksSafely(nodes) : opts.engine === 'nfa';
  const nfa = useNfa ? compileNfa(nodes, captureCount, (n) => compileNode(n, false)) : null;
  return {
    pattern,
    regex,
    captureCount,
    literalPrefix,
    isLiteral,
    match(path: string): string[] | null {
      // The root is never a match for anything but `/` (the table in PACHYDERM.md 4.1: `/*` and `/**` skip it).
      if (isRoot || path === '/') return isRoot && path === '/' ? [] : null;
      if (nfa) return nfa.match(path);
      const m = regex.exec(path);
      if (!m) return null;
      const captures: string[] = new Array(captureCount);
      for (let i = 0; i < captureCount; i++) captures[i] = m[i + 1] ?? '';
      return captures;
    },
  };
}

/**
 * Whether the RegExp of these nodes runs in time linear in the path. Without groups and braces, a
 * `*` cannot cross a `/`, so one `*` per segment has one way to end its segment and a failure
 * never backtracks into an earlier segment; a lone `**` (and nothing else that repeats) backs off
 * once over the path. Anything else (two `*` in a name, `**` with `*`, extglobs) goes to the NFA.
 */
function backtracksSafely(nodes: readonly Node[]): boolean {
  let supers = 0;
  let stars = 0;
  let inSegment = 0;
  for (const n of nodes) {
    if (n.kind === 'group' || n.kind === 'braces') return false;
    if (n.kind === 'super') supers++;
    if (n.kind === 'star') {
      stars++;
      if (++inSegment > 1) return false;
    }
    // a `/` after a `*` ends its segment
    if (n.kind === 'text' && n.value.includes('/')) inSegment = 0;
  }
  return supers === 0 || (supers === 1 && stars === 0);
}

/** Replace `$1`, `${1}`… in a join_on / group_by template; `$$` is a literal `$`. */
export function expandTemplate(template: string, captures: string[]): string {
  return scanTemplate(template, (n) => {
    if (n < 1 || n > captures.length) {
      throw new InvalidArgumentError(
        `template "${escapeControlChars(template)}" refers to capture group ${n} but only ${captures.length} ${plural(captures.length, 'was', 'were')} captured`,
        'capture groups are numbered from 1 by opening parenthesis, e.g. /(*)/(*).txt has $1 and $2',
      );
    }
    return captures[n - 1];
  });
}

/** Check at spec time that a template only refers to groups the glob has. */
export function validateTemplate(
  template: string,
  captureCount: number,
  opts: { glob?: string; field?: 'join_on' | 'group_by' } = {},
): void {
  const field = opts.field ?? 'join_on';
  const globText = opts.glob === undefined ? 'the glob' : `glob "${escapeControlChars(opts.glob)}"`;
  scanTemplate(
    template,
    (n) => {
      if (n >= 1 && n <= captureCount) return '';
      const has = captureCount === 0 ? 'has no capture groups' : `has only ${captureCount}`;
      throw new InvalidArgumentError(
        `${field} "${escapeControlChars(template)}" refers to capture group ${n} but ${globText} ${has}`,
        'wrap the parts of the glob you want as keys in parentheses, e.g. /(*)/(*).txt gives $1 and $2',
      );
    },
    field,
  );
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

// Walks a template once; `ref` gets each group number and returns its replacement.
function scanTemplate(template: string, ref: (n: number) => string, field = 'template'): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    const m = /^(\d+)|^\{(\d+)\}|^\$/.exec(rest);
    if (!m) {
      if (rest.startsWith('{')) {
        throw new InvalidArgumentError(
          `${field} "${escapeControlChars(template)}" is invalid: "\${" must be followed by a group number and "}"`,
          'write ${1}, or $$ for a literal $',
        );
      }
      out += '$'; // a lone `$` stays literal
      continue;
    }
    out += m[0] === '$' ? '$' : ref(Number(m[1] ?? m[2]));
    i += m[0].length;
  }
  return out;
}

// Leading segments free of glob characters, unescaped. Splits only on unescaped `/`.
function splitLiteralPrefix(pattern: string): { literalPrefix: string; isLiteral: boolean } {
  const segments: string[] = [];
  let current = '';
  for (let i = 1; i <= pattern.length; i++) {
    const c = pattern[i];
    if (i === pattern.length || c === '/') {
      if (current !== '') segments.push(current);
      current = '';
      continue;
    }
    if (c === '\\' && i + 1 < pattern.length) {
      current += pattern[i] + pattern[i + 1];
      i++;
    } else current += c;
  }
  const literal: string[] = [];
  for (const seg of segments) {
    if (hasGlobChars(seg)) break;
    literal.push(seg.replace(/\\(.)/gs, '$1'));
  }
  return {
    literalPrefix: cleanPath(literal.join('/')),
    isLiteral: literal.length === segments.length,
  };
}

// Regex source for a sequence. `atSegmentEnd`: what follows is `/` or the end of the path,
// which decides how far a `!(…)` lookahead must reach.
function compileSeq(nodes: Node[], atSegmentEnd: boolean): string {
  let out = '';
  for (let i = 0; i < nodes.length; i++) {
    const next = nodes[i + 1];
    const endsHere = next === undefined ? atSegmentEnd : next.kind === 'text' && next.value.startsWith('/');
    out += compileNode(nodes[i], endsHere);
  }
  return out;
}

function compileAlts(alts: Node[][], atSegmentEnd: boolean): string {
  return alts.map((alt) => compileSeq(alt, atSegmentEnd)).join('|');
}

function compileNode(node: Node, atSegmentEnd: boolean): string {
  switch (node.kind) {
    case 'text':
      return [...node.value].map(escapeRegexChar).join('');
    case 'star':
      return '[^/]*';
    case 'super':
      return '.*';
    case 'single':
      return '[^/]';
    case 'class':
      // A class never matches the separator, even through a range such as [!-0].
      return node.negated ? `[^${node.body}/]` : `(?!/)[${node.body}]`;
    case 'braces':
      return `(?:${compileAlts(node.alts, atSegmentEnd)})`;
    case 'group': {
      const body = compileAlts(node.alts, atSegmentEnd);
      switch (node.op) {
        case '@':
          return `(${body})`;
        case '*':
        case '+':
        case '?':
          return `((?:${body})${node.op})`;
        case '!': {
          // ohmyglob's negation: refuse a start where the pattern matches, then take the rest of
          // the segment. At a segment end the pattern must match up to that end to be refused,
          // so /!(*.js) skips a.js but keeps a.js.gz.
          const end = atSegmentEnd ? '(?:/|$)' : '';
          return `((?:(?!(?:${body})${end})[^/]*))`;
        }
      }
    }
  }
}

function escapeRegexChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\\\][^-]/.test(c) ? `\\${c}` : c;
}

// Recursive descent over code points. Braces separate with `,`, groups with `|`; each is
// literal elsewhere, so `{a|b}` and `(a,b)` hold one alternative.
class GlobParser {
  private readonly chars: string[];
  private pos = 0;
  groups = 0;

  constructor(
    private readonly original: string,
    pattern: string,
  ) {
    this.chars = [...pattern];
  }

  parseTop(): Node[] {
    const nodes = this.parseSeq('', '');
    if (this.pos < this.chars.length) throw this.fail(`unmatched "${this.chars[this.pos]}"`);
    return nodes;
  }

  private fail(reason: string): InvalidArgumentError {
    return new InvalidArgumentError(
      `invalid glob "${escapeControlChars(this.original)}": ${reason}`,
      'escape a literal glob character with \\, e.g. /test\\[1\\].txt',
    );
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset];
  }

  // Stops (without consuming) at `sep` or `close`, or at a stray closer, which parseTop reports.
  private parseSeq(sep: string, close: string): Node[] {
    const nodes: Node[] = [];
    const text = (s: string) => {
      const last = nodes[nodes.length - 1];
      if (last?.kind === 'text') last.value += s;
      else nodes.push({ kind: 'text', value: s });
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === sep || c === close) return nodes;
      if (c === ')' || c === '}') {
        if (close !== '') throw this.fail(`unmatched "${c}"`);
        return nodes;
      }
      this.pos++;
      switch (c) {
        case '\\': {
          const escaped = this.peek();
          if (escaped === undefined) throw this.fail('pattern ends with an escape character "\\"');
          this.pos++;
          text(escaped);
          break;
        }
        case '*': {
          let run = 1;
          while (this.peek() === '*') {
            run++;
            this.pos++;
          }
          if (this.peek() === '(') {
            // The last `*` is the extglob operator: `**(a)` is `*` then `*(a)`.
            if (run > 2) nodes.push({ kind: 'super' });
            else if (run === 2) nodes.push({ kind: 'star' });
            nodes.push(this.parseGroup('*'));
          } else nodes.push({ kind: run > 1 ? 'super' : 'star' });
          break;
        }
        case '?':
          nodes.push(this.peek() === '(' ? this.parseGroup('?') : { kind: 'single' });
          break;
        case '+':
        case '@':
        case '!':
          if (this.peek() === '(') nodes.push(this.parseGroup(c));
          else text(c);
          break;
        case '(':
          this.pos--;
          nodes.push(this.parseGroup('@'));
          break;
        case '[':
          nodes.push(this.parseClass());
          break;
        case '{':
          nodes.push({ kind: 'braces', alts: this.parseAlts(',', '}', '{') });
          break;
        default:
          text(c);
      }
    }
  }

  // At the `(`; the group number is taken before parsing the body: numbered by opening paren.
  private parseGroup(op: GroupOp): Node {
    this.pos++;
    this.groups++;
    return { kind: 'group', op, alts: this.parseAlts('|', ')', '(') };
  }

  // After the opener; consumes through the closer.
  private parseAlts(sep: string, close: string, open: string): Node[][] {
    const alts: Node[][] = [];
    for (;;) {
      alts.push(this.parseSeq(sep, close));
      const c = this.peek();
      if (c === undefined) throw this.fail(`unclosed "${open}"`);
      this.pos++;
      if (c === close) return alts;
    }
  }

  // After the `[`. `]` right after `[` or `[!` closes an empty class, which is an error.
  private parseClass(): Node {
    let negated = false;
    if (this.peek() === '!' || this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    if (this.peek() === ']') throw this.fail('empty character class');
    let body = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.fail('unclosed "["');
      if (c === ']') {
        this.pos++;
        return { kind: 'class', negated, body };
      }
      if (c === '[' && this.peek(1) === ':') {
        body += this.parsePosixClass();
        continue;
      }
      const lo = this.classChar();
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.pos++;
        const hi = this.classChar();
        if (lo.codePointAt(0)! > hi.codePointAt(0)!) throw this.fail(`invalid range "${lo}-${hi}" in character class`);
        body += `${escapeClassChar(lo)}-${escapeClassChar(hi)}`;
      } else body += escapeClassChar(lo);
    }
  }

  private classChar(): string {
    let c = this.peek()!;
    this.pos++;
    if (c === '\\') {
      const escaped = this.peek();
      if (escaped === undefined) throw this.fail('unclosed "["');
      c = escaped;
      this.pos++;
    }
    return c;
  }

  // At `[:`; reads `[:name:]`.
  private parsePosixClass(): string {
    const rest = this.chars.slice(this.pos).join('');
    const m = /^\[:([a-z]*):\]/.exec(rest);
    if (!m) {
      // Not a POSIX class after all: a literal `[` inside the class.
      this.pos++;
      return '\\[';
    }
    const body = POSIX_CLASSES[m[1]];
    if (body === undefined) throw this.fail(`unknown character class "[:${m[1]}:]"`);
    this.pos += m[0].length;
    return body;
  }
}
