// Every stage a chain may name, by the name the spec uses.
import { makeEnsemble } from './ensemble.js';
import { LinearRegression, LogisticRegression } from './linear.js';
import { Autoencoder, CNNClassifier, MLPClassifier, MLPRegressor } from './nets.js';
import { TRANSFORMERS } from './transformers.js';
import { DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier, RandomForestRegressor } from './tree.js';
import type { EstimatorDef, StageDef, TransformerDef } from './types.js';

const BASE_ESTIMATORS: EstimatorDef<any>[] = [
  LinearRegression,
  LogisticRegression,
  MLPClassifier,
  MLPRegressor,
  CNNClassifier,
  Autoencoder,
  DecisionTreeClassifier,
  DecisionTreeRegressor,
  RandomForestClassifier,
  RandomForestRegressor,
];

const byName = new Map<string, StageDef>();
for (const s of [...TRANSFORMERS, ...BASE_ESTIMATORS]) byName.set(s.name, s);
export const Ensemble = makeEnsemble((name) => {
  const s = byName.get(name);
  return s?.kind === 'estimator' ? s : undefined;
});
byName.set(Ensemble.name, Ensemble);

export function stageByName(name: string): StageDef | undefined {
  return byName.get(name);
}

export const STAGES: readonly StageDef[] = [...byName.values()];
export type { EstimatorDef, TransformerDef };
