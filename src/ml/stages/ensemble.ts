// Ensembles: several estimators fitted on the same features and target, combined by majority
// vote (classes) or by averaging (probabilities or numbers).
import { argmaxRows } from './common.js';
import { ParamReader } from './params.js';
import type { EstimatorDef, FittedEstimator, Prediction, SavedState, StageFail } from './types.js';
import { subSeed } from '../rng.js';

/** A chain entry as written in the spec: `{Name: {params}}` or `Name`. */
export function parseStageEntry(entry: unknown): { name: string; raw: Record<string, unknown> } | string {
  if (typeof entry === 'string') return { name: entry, raw: {} };
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return `expected {StageName: {parameters}}, got ${JSON.stringify(entry)}`;
  const keys = Object.keys(entry);
  if (keys.length !== 1) return `a stage is one key naming it, e.g. {StandardScaler: {}}; got keys ${keys.join(', ') || '(none)'}`;
  const raw = (entry as Record<string, unknown>)[keys[0]!];
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) return `parameters of ${keys[0]} must be an object, got ${JSON.stringify(raw)}`;
  return { name: keys[0]!, raw: (raw ?? {}) as Record<string, unknown> };
}

type Member = { name: string; params: Record<string, unknown> };
type EnsembleParams = { method: 'vote' | 'average'; members: Member[] };
type EnsembleState = { method: 'vote' | 'average'; members: { name: string; state: unknown }[] };

function combine(method: 'vote' | 'average', preds: Prediction[]): Prediction {
  const first = preds[0]!;
  if (first.kind === 'regression') {
    const values = new Float64Array(first.values.length);
    for (const p of preds) if (p.kind === 'regression') for (let i = 0; i < values.length; i++) values[i] = values[i]! + p.values[i]! / preds.length;
    return { kind: 'regression', values };
  }
  if (first.kind !== 'classification') throw new Error('Ensemble: anomaly detectors cannot be combined');
  const n = first.index.length;
  const k = first.classes.length;
  const mean = new Float64Array(n * k);
  const votes = new Float64Array(n * k);
  const allProba = preds.every((p) => p.kind === 'classification' && p.proba);
  for (const p of preds) {
    if (p.kind !== 'classification') continue;
    for (let i = 0; i < n; i++) {
      votes[i * k + p.index[i]!] = votes[i * k + p.index[i]!]! + 1;
      for (let c = 0; c < k; c++) mean[i * k + c] = mean[i * k + c]! + (p.proba ? p.proba[i * k + c]! : p.index[i] === c ? 1 : 0) / preds.length;
    }
  }
  // hard vote: the most votes, ties to the lowest class index
  const index = argmaxRows(method === 'vote' ? votes : mean, n, k);
  return { kind: 'classification', classes: first.classes, index, proba: allProba || method === 'average' ? mean : null };
}

/** Build the Ensemble stage over the registry's estimators (passed in to avoid an import cycle). */
export function makeEnsemble(lookup: (name: string) => EstimatorDef | undefined): EstimatorDef<EnsembleParams> {
  const memberDef = (m: Member) => lookup(m.name)!;
  const ensemble: EstimatorDef<EnsembleParams> = {
    kind: 'estimator',
    name: 'Ensemble',
    summary: 'Several estimators on the same features, combined by majority vote (classes) or by averaging (probabilities, numbers).',
    parse(raw, fail: StageFail) {
      const r = new ParamReader(raw, fail);
      const method = r.choice('method', ['vote', 'average'] as const, 'vote');
      const list = r.value('members');
      r.done();
      if (!Array.isArray(list) || list.length < 2) fail('parameter "members" must list at least two estimators, e.g. [{LogisticRegression: {}}, {DecisionTreeClassifier: {}}]');
      const members = (list as unknown[]).map((entry, j): Member => {
        const e = parseStageEntry(entry);
        if (typeof e === 'string') fail(`members[${j}]: ${e}`);
        const def = e.name === 'Ensemble' ? undefined : lookup(e.name);
        if (!def) fail(`members[${j}]: ${e.name === 'Ensemble' ? 'ensembles do not nest' : `unknown estimator "${e.name}"`}`);
        const params = def.parse(e.raw, (m, h, c) => fail(`members[${j}] (${e.name}): ${m}`, h, c)) as Record<string, unknown>;
        return { name: e.name, params };
      });
      const tasks = new Set(members.map((m) => memberDef(m).task(m.params)));
      if (tasks.size > 1) fail(`members mix ${[...tasks].join(' and ')} estimators`, 'combine classifiers with classifiers, regressors with regressors');
      if (tasks.has('anomaly')) fail('anomaly detectors cannot be ensembled');
      if (tasks.has('regression') && method === 'vote') fail('regressors are combined with method: average, not vote');
      return { method, members };
    },
    task: (p) => memberDef(p.members[0]!).task(p.members[0]!.params),
    checkInput(features, label, p, fail) {
      p.members.forEach((m, j) => memberDef(m).checkInput(features, label, m.params, (msg, h, c) => fail(`members[${j}] (${m.name}): ${msg}`, h, c)));
    },
    async fit(t, target, p, ctx) {
      const fitted: FittedEstimator[] = [];
      for (const [j, m] of p.members.entries()) {
        ctx.log(`Ensemble: fitting member ${j} (${m.name})`);
        fitted.push(await memberDef(m).fit(t, target, m.params, { ...ctx, seed: subSeed(ctx.seed, j) }));
      }
      return model(p, fitted);
    },
    async load(state, read, p) {
      const s = state as EnsembleState;
      const fitted: FittedEstimator[] = [];
      for (const [j, m] of p.members.entries()) fitted.push(await memberDef(m).load(s.members[j]!.state, (f) => read(`member-${j}/${f}`), m.params));
      return model(p, fitted);
    },
  };
  const model = (p: EnsembleParams, fitted: FittedEstimator[]): FittedEstimator => ({
    async predict(t) {
      const preds: Prediction[] = [];
      for (const f of fitted) preds.push(await f.predict(t));
      return combine(p.method, preds);
    },
    async save(): Promise<SavedState> {
      const files: Record<string, Uint8Array> = {};
      const members: EnsembleState['members'] = [];
      for (const [j, f] of fitted.entries()) {
        const s = await f.save();
        members.push({ name: p.members[j]!.name, state: s.json });
        for (const [name, bytes] of Object.entries(s.files ?? {})) files[`member-${j}/${name}`] = bytes;
      }
      return { json: { method: p.method, members } satisfies EnsembleState, files };
    },
    dispose: () => fitted.forEach((f) => f.dispose?.()),
  });
  return ensemble;
}

