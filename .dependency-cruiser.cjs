/**
 * Import rules for the layers in docs/architecture.md ("Layers and the import rule").
 * `npm run lint:deps` checks src/ against them. .dependency-cruiser-known-violations.json, the
 * baseline of breaches that predated the rule, is empty and stays so: a breach is fixed in the code.
 */

// Everything outside src/store reaches the store through these modules only; the rest of
// src/store is internal to it, seen only by src/store itself and the composition root. The
// façade is the Store and its records (store, types, address), the handle the pipeline works
// with (store-handle), and the pure helpers every layer needs: ids and BLAKE3 hashing (hash),
// glob matching (glob), path normalisation (paths).
const STORE_FACADE = '^src/store/(store|types|address|store-handle|hash|glob|paths)[.]ts$';
// The metadata contracts: their interfaces and records may be named above the store (type-only
// imports); their implementations and values are reached through the façade.
const METADATA_CONTRACTS = '^src/store/(commit-graph|job-records|chunk-index)[.]ts$';
const COMPOSITION_ROOT = '^src/app/';
// What src/project may import of src/store: ref parsing and formatting, paths, ids, globs, records.
const PROJECT_STORE_IMPORTS = '^src/store/(address|paths|hash|glob|types)[.]ts$';

// Layers above the store, above the pipeline, and the command layer (src/cli holds helpers
// shared by commands, so it is part of that layer).
const COMMANDS = '^src/(commands|cli)/';
const ABOVE_PIPELINE = '^src/(app|commands|cli|console|project|ml|monitor|ui)/';
const ABOVE_STORE = '^src/(app|commands|cli|console|project|pipeline|ml|monitor|ui)/';

// What a command may import besides packages: the composition root and its services, the
// command helpers, rendering (src/ui and the views beside project and monitor code) and the
// shared top-level modules (errors, signals, timers).
const COMMAND_IMPORTS = ['^src/(app|commands|cli|ui)/', '^src/[^/]+[.]ts$', '^src/(project|monitor)/views[.]ts$'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'store-imports-above',
      severity: 'error',
      comment: 'The store calls nothing above it: it may import only src/store, src/errors.ts and the other top-level src modules.',
      from: { path: '^src/store/' },
      to: { path: ABOVE_STORE },
    },
    {
      name: 'shared-imports-layers',
      severity: 'error',
      comment: 'The top-level modules (src/errors.ts, src/http-errors.ts, src/signals.ts, src/timers.ts) sit below every layer, the store included, so they import none of them.',
      from: { path: '^src/[^/]+$' },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'pipeline-imports-above',
      severity: 'error',
      comment:
        'The pipeline calls the store only. ML transforms plug into the transform interface the pipeline defines, so the pipeline never names them.',
      from: { path: '^src/pipeline/' },
      to: { path: ABOVE_PIPELINE },
    },
    {
      name: 'ml-imports-store',
      severity: 'error',
      comment: 'ML code reaches stored data only through the transform interface src/pipeline gives it, never by importing src/store.',
      from: { path: '^src/ml/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'store-internals',
      severity: 'error',
      comment: `Outside src/store only the façade (${STORE_FACADE}) and the metadata contracts (types only, see metadata-contracts-types-only) may be imported; the other store modules are internals.`,
      from: { path: '^src/', pathNot: ['^src/store/', COMPOSITION_ROOT, '^src/ml/'] },
      to: { path: '^src/store/', pathNot: [STORE_FACADE, METADATA_CONTRACTS] },
    },
    {
      name: 'project-through-ports',
      severity: 'error',
      comment: `src/project reaches the store through the port the composition root builds for it (src/project/ports.ts): of src/store it names the records and contracts and uses the pure helpers (${PROJECT_STORE_IMPORTS}), never the store, its handle or its other modules.`,
      from: { path: '^src/project/' },
      to: { path: '^src/store/', pathNot: [PROJECT_STORE_IMPORTS, METADATA_CONTRACTS] },
    },
    {
      name: 'metadata-contracts-types-only',
      severity: 'error',
      comment:
        'Above the store the metadata contracts (CommitGraph, JobRecords, ChunkIndex and their records) are named as types only: their SQLite implementations are store internals, and the values above need (TERMINAL_JOB_STATES, isOwnerAlive) come through the façade (store-handle.ts).',
      from: { path: '^src/', pathNot: ['^src/store/', COMPOSITION_ROOT, '^src/ml/'] },
      to: { path: METADATA_CONTRACTS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'commands-import-services',
      severity: 'error',
      comment:
        'Commands parse, call one service and render: they import src/app (openTusk, the services, the records they return), src/cli, src/ui and views, never a layer below the services.',
      from: { path: COMMANDS },
      to: { path: '^src/', pathNot: COMMAND_IMPORTS },
    },
    {
      name: 'composition-root-imported-by-commands',
      severity: 'error',
      comment: 'src/app builds the application from the layers below it; only commands (and src/cli) use it, or a layer would depend on the whole.',
      from: { path: '^src/', pathNot: ['^src/app/', COMMANDS] },
      to: { path: COMPOSITION_ROOT },
    },
    {
      name: 'service-imports-commands',
      severity: 'error',
      comment: 'Commands sit on top: no service, view or console module imports a command or a command helper in src/cli.',
      from: { path: '^src/', pathNot: COMMANDS },
      to: { path: COMMANDS },
    },
    {
      name: 'ui-imports-services',
      severity: 'error',
      comment: 'src/ui renders what it is handed; it may read store and pipeline types but calls no console, project, ml or monitor code.',
      from: { path: '^src/ui/' },
      to: { path: '^src/(console|project|ml|monitor)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle of imports ties modules (and, across folders, layers) together so that neither can change or be tested alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-layers',
      severity: 'error',
      comment: 'Folders (layers and their sub-folders) depend in one direction: a cycle between two folders means neither layer sits below the other.',
      scope: 'folder',
      // The known-violations baseline does not cover folder-level rules, so the one known
      // folder cycle (src/ml and src/monitor import each other) is exempted here instead; a
      // cycle that runs through any other folder is still reported from that folder.
      from: { path: '^src/', pathNot: '^src/(ml|monitor)(/|$)' },
      to: { circular: true },
    },
    {
      name: 'src-imports-dev-dependency',
      severity: 'error',
      comment: 'The published CLI installs dependencies only; a devDependency imported from src would be missing at run time. Move it to dependencies.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['node_modules/@types/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // src imports ./x.js for ./x.ts (NodeNext); resolving through tsconfig maps those to the sources.
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports couple layers as much as value imports do, so they count.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
