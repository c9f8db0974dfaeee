// The kernels src/ml registers over TensorFlow.js's: the filter gradient of a convolution on the
// cpu backend, against its definition summed in the same order (so to the bit).
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/ml/rng.js';
import { activateBackend } from '../../src/ml/tf.js';

/** dW[wR][wC][d1][d2] = Σ_b Σ_r Σ_c x[b, r·s + wR − top, c·s + wC − left, d1] · dy[b, r, c, d2] (NHWC, zero outside x). */
function reference(x: Float32Array, xs: number[], dy: Float32Array, ys: number[], f: number, s: number, top: number, left: number, co: number): Float32Array {
  const [B, H, W, ci] = xs as [number, number, number, number];
  const [, OH, OW] = ys as [number, number, number, number];
  const out = new Float32Array(f * f * ci * co);
  let o = 0;
  for (let wR = 0; wR < f; wR++)
    for (let wC = 0; wC < f; wC++)
      for (let d1 = 0; d1 < ci; d1++)
        for (let d2 = 0; d2 < co; d2++) {
          let sum = 0;
          for (let b = 0; b < B; b++)
            for (let r = 0; r < OH; r++)
              for (let c = 0; c < OW; c++) {
                const xr = r * s + wR - top;
                const xc = c * s + wC - left;
                if (xr < 0 || xr >= H || xc < 0 || xc >= W) continue;
                sum += x[((b * H + xr) * W + xc) * ci + d1]! * dy[((b * OH + r) * OW + c) * co + d2]!;
              }
          out[o++] = sum;
        }
  return out;
}

describe('Conv2DBackpropFilter on cpu', () => {
  for (const { pad, stride, f } of [
    { pad: 'same' as const, stride: 1, f: 3 },
    { pad: 'valid' as const, stride: 2, f: 3 },
    { pad: 'same' as const, stride: 2, f: 4 },
  ]) {
    it(`equals its definition to the bit (${pad}, stride ${stride}, ${f}×${f})`, async () => {
      const { tf } = await activateBackend('cpu');
      const rand = mulberry32(f * 10 + stride);
      const xs = [2, 9, 7, 3];
      const x = Float32Array.from({ length: 2 * 9 * 7 * 3 }, () => rand() * 2 - 1);
      const filter = tf.tensor4d(Float32Array.from({ length: f * f * 3 * 4 }, () => rand() - 0.5), [f, f, 3, 4]);
      const xt = tf.tensor4d(x, xs as [number, number, number, number]);
      const ys = tf.conv2d(xt, filter, stride, pad).shape;
      const dy = Float32Array.from({ length: ys.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
      const dyt = tf.tensor(dy, ys);
      // d/dfilter of Σ conv2d(x, filter) · dy is the filter gradient for upstream gradient dy
      const dW = tf.grad((w: import('@tensorflow/tfjs').Tensor) => tf.sum(tf.mul(tf.conv2d(xt, w as import('@tensorflow/tfjs').Tensor4D, stride, pad), dyt)))(filter);
      const outH = ys[1]!;
      const outW = ys[2]!;
      const top = pad === 'valid' ? 0 : Math.floor(Math.max(0, (outH - 1) * stride + f - 9) / 2);
      const left = pad === 'valid' ? 0 : Math.floor(Math.max(0, (outW - 1) * stride + f - 7) / 2);
      expect(Array.from(await dW.data())).toEqual(Array.from(reference(x, xs, dy, ys, f, stride, top, left, 4)));
      tf.dispose([filter, xt, dyt, dW]);
    });
  }
});
