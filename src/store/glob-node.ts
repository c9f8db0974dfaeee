// The parsed form of a glob, shared by its two compilers (glob.ts, glob-nfa.ts).

export type GroupOp = '@' | '*' | '+' | '?' | '!';
/** A parsed glob: glob.ts compiles it to a RegExp, glob-nfa.ts to an NFA. */
export type GlobNode =
  | { kind: 'text'; value: string }
  | { kind: 'star' } // *
  | { kind: 'super' } // **
  | { kind: 'single' } // ?
  | { kind: 'class'; negated: boolean; body: string } // body is already regex source
  | { kind: 'braces'; alts: GlobNode[][] }
  | { kind: 'group'; op: GroupOp; alts: GlobNode[][] };
