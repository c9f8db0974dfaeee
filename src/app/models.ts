// Models and monitoring as commands use them: predictions, model serving, metrics, drift and
// profiles, each reading stored files through the store's façade. Their modules load when a
// method is first called, not when a command starts.
import type { PredictOptions } from '../ml/predict-service.js';
import type { ServeOptions } from '../ml/serve.js';
import type { DriftOptions } from '../monitor/drift.js';
import type { FileRef } from '../store/address.js';
import type { Store } from '../store/store.js';

export class ModelService {
  constructor(private readonly store: Store) {}

  async predict(model: FileRef, file: string, opts: PredictOptions = {}) {
    const { predictFile } = await import('../ml/predict-service.js');
    return predictFile(this.store, model, file, opts);
  }
  async serve(opts: ServeOptions) {
    const { serveModel } = await import('../ml/serve.js');
    return serveModel(this.store, opts);
  }
  async listMetrics(repo: string, opts: { branch?: string; number?: number } = {}) {
    const { listModelMetrics } = await import('../ml/metrics-service.js');
    return listModelMetrics(this.store, repo, opts);
  }
  async drift(reference: FileRef, current: FileRef, opts: Partial<DriftOptions> & { window?: number; delimiter?: string } = {}) {
    const { driftFiles } = await import('../monitor/drift-service.js');
    return driftFiles(this.store, reference, current, opts);
  }
  async listDrift(pipeline: string, opts: { number?: number } = {}) {
    const { listDrift } = await import('../monitor/drift-history.js');
    return listDrift(this.store, pipeline, opts);
  }
  async profile(ref: FileRef, opts: { delimiter?: string } = {}) {
    const { profileFile } = await import('../monitor/profile.js');
    return profileFile(this.store, ref, opts);
  }
}
