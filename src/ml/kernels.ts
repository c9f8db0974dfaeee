// Kernels registered over TensorFlow.js's own where theirs is the bottleneck of a stage. The cpu
// backend's Conv2DBackpropFilter (the filter gradient of a convolution, which every CNNClassifier
// trains with: wasm has none) reads each element through TensorBuffer.get, which builds an index
// array per read: most of a CNN's training time went there.
// This one is the same loops, in the same order, over the flat arrays: the same float64 sums
// rounded once to float32, so the weights are bit-identical to those of tfjs's kernel.
import type * as tfType from '@tensorflow/tfjs';

/** The TensorFlow.js module tf.ts loads and hands to registerKernels. */
type Tf = typeof import('@tensorflow/tfjs');

type CpuBackend = {
  data: { get(id: tfType.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tfType.TensorInfo;
};

type Conv2DBackpropFilterAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tfType.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

/** dW[wR, wC, d1, d2] = Σ over batch and output positions of x · dy, as tfjs-backend-cpu computes it. */
function conv2DBackpropFilter(tf: Tf, args: { inputs: tfType.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tfType.TensorInfo {
  const { x, dy } = args.inputs as { x: tfType.TensorInfo; dy: tfType.TensorInfo };
  const backend = args.backend as CpuBackend;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as Conv2DBackpropFilterAttrs;
  const bu = tf.backend_util;
  const info = bu.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, bu.convertConv2DDataFormat(dataFormat));
  const { strideHeight, strideWidth, filterHeight, filterWidth, inChannels, outChannels, batchSize, inHeight, inWidth, outHeight, outWidth } = info;
  const channelsLast = info.dataFormat === 'channelsLast';
  const xv = backend.data.get(x.dataId).values;
  const dyv = backend.data.get(dy.dataId).values;
  // element strides of [b, row, col, channel], whichever the layout
  const [xb, x1, x2] = tf.util.computeStrides(x.shape) as [number, number, number];
  const [yb, y1, y2] = tf.util.computeStrides(dy.shape) as [number, number, number];
  const [xR, xC, xD] = channelsLast ? [x1, x2, 1] : [x2, 1, x1];
  const [yR, yC, yD] = channelsLast ? [y1, y2, 1] : [y2, 1, y1];
  const dW = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let o = 0;
  for (let wR = 0; wR < filterHeight; ++wR) {
    const rMin = Math.max(0, Math.ceil((top - wR) / strideHeight));
    const rMax = Math.min(outHeight, (inHeight + top - wR) / strideHeight);
    for (let wC = 0; wC < filterWidth; ++wC) {
      const cMin = Math.max(0, Math.ceil((left - wC) / strideWidth));
      const cMax = Math.min(outWidth, (inWidth + left - wC) / strideWidth);
      for (let d1 = 0; d1 < inChannels; ++d1) {
        for (let d2 = 0; d2 < outChannels; ++d2) {
          let dot = 0;
          for (let b = 0; b < batchSize; ++b) {
            for (let r = rMin; r < rMax; ++r) {
              const xi = b * xb + (wR + r * strideHeight - top) * xR + d1 * xD;
              const yi = b * yb + r * yR + d2 * yD;
              for (let c = cMin; c < cMax; ++c) dot += xv[xi + (wC + c * strideWidth - left) * xC]! * dyv[yi + c * yC]!;
            }
          }
          dW[o++] = dot;
        }
      }
    }
  }
  return backend.makeTensorInfo(info.filterShape, 'float32', dW);
}

/** Put our kernels in place of tfjs's (once per process, after tfjs registered its own). */
export function registerKernels(tf: Tf): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'cpu')) tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc: (args) => conv2DBackpropFilter(tf, args) });
}
