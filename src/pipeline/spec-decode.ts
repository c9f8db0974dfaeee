// Decoding spec files: JSON (one value, concatenated objects, or a list) or YAML (`---`
// documents, lists) into raw specs, each with the line it starts on.
import { createRequire } from 'node:module';
import { malformed } from './spec-fields.js';

/** One spec as decoded from a file, before validation: pass `value` to normalizeSpec. */
export interface RawSpec {
  value: unknown;
  /** 0-based position among the specs of the file. */
  index: number;
  /** 1-based line of the file where this spec starts. */
  line: number;
  source?: string;
  baseDir: string;
}

/** Decode a spec file: JSON (one value, concatenated objects, or a list) or YAML (`---` documents, lists). */
export function parseSpecText(text: string, opts: { baseDir: string; source?: string }): RawSpec[] {
  const values = looksLikeJson(text) ? decodeJsonOrYaml(text, opts.source) : decodeYaml(text, opts.source);
  const specs: RawSpec[] = [];
  for (const { value, offset } of values) {
    // A top-level list holds several specs; nulls are empty documents (a trailing `---`).
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === null || v === undefined) continue;
      specs.push({ value: v, index: specs.length, line: lineAt(text, offset).line, source: opts.source, baseDir: opts.baseDir });
    }
  }
  if (specs.length === 0) {
    throw malformed('no pipeline spec found', withSource(opts.source, 'write one JSON object or YAML document per pipeline'));
  }
  return specs;
}

function looksLikeJson(text: string): boolean {
  return /^\s*[{[]/.test(text.replace(/^\uFEFF/, ''));
}

// JSON is decoded as JSON (exact semantics, concatenation allowed); text that merely starts like
// JSON but is YAML flow style (`{pipeline: {name: x}}`) falls back to the YAML decoder.
function decodeJsonOrYaml(text: string, source?: string): { value: unknown; offset: number }[] {
  try {
    return decodeJson(text, source);
  } catch (jsonErr) {
    try {
      return decodeYaml(text, source);
    } catch {
      throw jsonErr;
    }
  }
}

function decodeJson(text: string, source?: string): { value: unknown; offset: number }[] {
  const out: { value: unknown; offset: number }[] = [];
  for (const { start, end } of splitJsonValues(text, source)) {
    try {
      out.push({ value: JSON.parse(text.slice(start, end)), offset: start });
    } catch (err) {
      const msg = (err as Error).message.replace(/\s*\(line \d+ column \d+\)$/, '');
      const pos = /at position (\d+)/.exec(msg);
      const where = pos ? lineAt(text, start + Number(pos[1])) : lineAt(text, end);
      const bare = msg.replace(/ in JSON at position \d+$/, '').replace(/ at position \d+$/, '');
      throw malformed(`${bare} at line ${where.line}, column ${where.column}`, withSource(source, 'check the JSON syntax there'));
    }
  }
  return out;
}

// Top-level JSON values laid end to end (`{…}{…}` or one per line): brace depth outside strings.
function splitJsonValues(text: string, source?: string): { start: number; end: number }[] {
  const values: { start: number; end: number }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    if (text[i] !== '{' && text[i] !== '[') {
      const { line, column } = lineAt(text, i);
      throw malformed(
        `unexpected ${JSON.stringify(text[i])} after a JSON value at line ${line}, column ${column}`,
        withSource(source, 'several specs in one JSON file must be objects laid end to end'),
      );
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (--depth === 0) {
          i++;
          break;
        }
      }
    }
    values.push({ start, end: i }); // an unclosed value runs to the end: JSON.parse reports it
  }
  return values;
}

function decodeYaml(text: string, source?: string): { value: unknown; offset: number }[] {
  const out: { value: unknown; offset: number }[] = [];
  // loaded on use: commands without specs should not pay for loading it
  const { parseAllDocuments } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return out; // empty stream
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      // The decoder's message ends in a multi-line code frame; the first line already has line:column.
      const first = err.message.split('\n')[0].replace(/:$/, '');
      throw malformed(first, withSource(source, 'check the YAML syntax there (indentation, ":" after keys)'));
    }
    out.push({ value: doc.toJS({ maxAliasCount: 1000 }), offset: doc.contents?.range?.[0] ?? doc.range[0] });
  }
  return out;
}

function lineAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function withSource(source: string | undefined, hint: string): string {
  return source === undefined ? hint : `in ${source}: ${hint}`;
}
