// What a local `put file` source is: what placing it (put-targets.ts) and checking a listed
// source (source-list.ts) both ask of the file system.

/** What a local source is, as far as placing it goes. */
export type LocalKind = 'file' | 'dir' | 'missing';
