// TensorFlow.js, loaded only when a network stage needs it (importing it is a start-up cost that
// commands that never train must not pay). Backends: tfjs-node ("node") when installed, else
// WebAssembly ("wasm"); "cpu" (plain JavaScript) where wasm lacks a kernel, e.g. the filter
// gradient of convolutions. Chosen by the spec's `backend`, else TUSK_TF_BACKEND, else automatically.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { MlError } from './errors.js';
import { registerKernels } from './kernels.js';

export type Tf = typeof import('@tensorflow/tfjs');
export type BackendName = 'node' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['node', 'wasm', 'cpu'];

/** tfjs's registry names for our backend names. */
const TF_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let tfPromise: Promise<Tf> | undefined;
let nodeAvailable: boolean | undefined;
const require = createRequire(import.meta.url);

/** Load tfjs (and the wasm backend) once per process. */
export function loadTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    const tf = (await import('@tensorflow/tfjs')) as Tf;
    // PROD silences tfjs's console banners ("install our node backend") that would corrupt CLI output
    tf.env().set('PROD', true);
    registerKernels(tf);
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
    return tf;
  })();
  return tfPromise;
}

/** Whether @tensorflow/tfjs-node is installed and loads. */
async function hasNodeBackend(): Promise<boolean> {
  if (nodeAvailable !== undefined) return nodeAvailable;
  try {
    const name = '@tensorflow/tfjs-node';
    await import(name);
    nodeAvailable = true;
  } catch {
    nodeAvailable = false;
  }
  return nodeAvailable;
}

/** The backend asked for: the spec's field, else TUSK_TF_BACKEND, else undefined (automatic). */
export function requestedBackend(specBackend: string | undefined): BackendName | undefined {
  const v = specBackend ?? process.env.TUSK_TF_BACKEND;
  if (v === undefined || v === '' || v === 'auto') return undefined;
  if (!(BACKENDS as readonly string[]).includes(v))
    throw new MlError(`unknown TensorFlow.js backend "${v}"`, `use one of: ${BACKENDS.join(', ')} (from transform.ml.backend or TUSK_TF_BACKEND)`);
  return v as BackendName;
}

/** The backend a job will use: the requested one, else node when installed, else wasm. */
export async function resolveBackend(requested: BackendName | undefined): Promise<BackendName> {
  if (requested === 'node' && !(await hasNodeBackend())) throw new MlError('backend "node" needs @tensorflow/tfjs-node, which is not installed', 'install it, or use backend wasm or cpu');
  if (requested) return requested;
  return (await hasNodeBackend()) ? 'node' : 'wasm';
}

/**
 * Make `want` the active backend, or cpu when it lacks one of `kernels` (wasm has no
 * Conv2DBackpropFilter). Returns the backend now active and, when it fell back, why.
 */
export async function activateBackend(want: BackendName, kernels: readonly string[] = []): Promise<{ tf: Tf; backend: BackendName; note?: string }> {
  const tf = await loadTf();
  let backend = want;
  let note: string | undefined;
  if (want !== 'cpu') {
    if (!(await tf.setBackend(TF_NAME[want]))) throw new MlError(`TensorFlow.js backend "${want}" failed to start`, 'use backend cpu');
    const missing = kernels.filter((k) => !tf.getKernel(k, TF_NAME[want]));
    if (missing.length > 0) {
      backend = 'cpu';
      note = `${want} lacks ${missing.join(', ')}; used cpu`;
    }
  }
  if (backend === 'cpu') await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend, note };
}

/** The tfjs version string recorded in model cards. */
export async function tfVersion(): Promise<string> {
  return (await loadTf()).version.tfjs;
}
