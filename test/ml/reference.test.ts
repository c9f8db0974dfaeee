// Linear and logistic models against scikit-learn on classic datasets. The reference numbers
// were computed once with Debian's python3-sklearn 1.2.1 on the same split:
//
//   /usr/bin/python3 test/fixtures/ml/reference.py
//
// (the script replays tusk's mulberry32 split; its output is pasted below).
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, lastJob, mlStore, near, pipeline, put, readJson } from './ml-helpers.js';

const SKLEARN = {
  diabetes_linear: { mse: 3162.6290117135068, mae: 46.359623201565576, r2: 0.44557515302215234 },
  diabetes_poly: { mse: 3505.200344934892, mae: 47.42881517731742, r2: 0.38552066724566214 },
  breast_cancer_logistic: { accuracy: 0.965034965034965, precision: 0.9601493139628733, recall: 0.9680829228243021, f1: 0.9636409865242817, roc_auc: 0.9977422003284072 },
  iris_logistic: { accuracy: 0.9473684210526315, precision: 0.9487179487179488, recall: 0.9487179487179488, f1: 0.9444444444444443, roc_auc: 1.0 },
  wine_logistic: { accuracy: 1.0, precision: 1.0, recall: 1.0, f1: 1.0, roc_auc: 1.0 },
};

let env: ReturnType<typeof mlStore> | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

async function train(data: string, file: string, label: string, chain: unknown[], split: Record<string, unknown>, metrics?: string[]) {
  env = mlStore();
  const { store, dir } = env;
  await put(store, data, { [`/${file}`]: fixture(file) });
  await pipeline(store, dir, {
    pipeline: { name: 'model' },
    input: { pfs: { repo: data, glob: '/' } },
    transform: { ml: { task: 'train', data: { format: 'csv', path: `/pfs/${data}/${file}`, label }, chain, split, ...(metrics ? { metrics } : {}) } },
  });
  const job = await lastJob(store, 'model');
  expect(job.errors).toEqual([]);
  expect(job.state).toBe('JOB_SUCCESS');
  return readJson(store, 'model@master:/metrics.json');
}

function expectClose(got: Record<string, unknown>, want: Record<string, number>) {
  for (const [k, v] of Object.entries(want)) expect(near(got[k] as number, v), `${k}: tusk ${String(got[k])} vs sklearn ${v}`).toBe(true);
}

describe('reference metrics (scikit-learn 1.2.1, within 1%)', () => {
  it('LinearRegression on diabetes', async () => {
    const m = await train('diabetes', 'diabetes.csv', 'progression', [{ LinearRegression: {} }], { test: 0.2, seed: 42 }, ['mse', 'mae', 'r2']);
    expect(m.rows).toEqual({ train: 353, test: 89 });
    expectClose(m.test, SKLEARN.diabetes_linear);
  });

  it('StandardScaler + PolynomialFeatures + LinearRegression on diabetes', async () => {
    const m = await train('diabetes', 'diabetes.csv', 'progression', [{ StandardScaler: {} }, { PolynomialFeatures: { degree: 2 } }, { LinearRegression: {} }], { test: 0.2, seed: 42 }, ['mse', 'mae', 'r2']);
    expectClose(m.test, SKLEARN.diabetes_poly);
  });

  it('StandardScaler + LogisticRegression on breast cancer (binary)', async () => {
    const m = await train('cancer', 'breast_cancer.csv', 'diagnosis', [{ StandardScaler: {} }, { LogisticRegression: {} }], { test: 0.25, seed: 7 });
    expect(m.rows).toEqual({ train: 426, test: 143 });
    expectClose(m.test, SKLEARN.breast_cancer_logistic);
    expect(m.test.confusion_matrix.labels).toEqual([0, 1]);
  });

  it('StandardScaler + LogisticRegression on iris (multinomial, string labels)', async () => {
    const m = await train('iris', 'iris.csv', 'species', [{ StandardScaler: {} }, { LogisticRegression: {} }], { test: 0.25, seed: 7 });
    expectClose(m.test, SKLEARN.iris_logistic);
    expect(Object.keys(m.test.f1_per_class)).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('MinMaxScaler + LogisticRegression on wine', async () => {
    const m = await train('wine', 'wine.csv', 'cultivar', [{ MinMaxScaler: {} }, { LogisticRegression: {} }], { test: 0.25, seed: 7 });
    expectClose(m.test, SKLEARN.wine_logistic);
  });
});
