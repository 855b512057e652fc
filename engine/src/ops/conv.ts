/**
 * Convolution with a constant filter whose gradient is taken only with respect to the input.
 *
 * During a drag the generator's weights are fixed, so the filter gradient is never needed; and the wasm
 * backend lacks Conv2DBackpropFilter and has a Conv2DBackpropInput about 10x slower than the forward conv.
 * The input gradient of a stride-1 convolution is itself a forward convolution of dy with the filter rotated
 * by 180 degrees and its in/out channels swapped, which every backend runs fast.
 */
import * as tf from '@tensorflow/tfjs';
import { unaryCustomGrad } from './custom-grad.js';
import { winogradConvValid, winogradFilter, type WinogradFilter } from './winograd.js';

export interface ConstFilter {
  /** [kh, kw, in, out], used forward. */
  forward: tf.Tensor4D;
  /** [kh, kw, out, in], the forward filter rotated 180 degrees with channels swapped. */
  backward: tf.Tensor4D;
  kernel: number;
  /** Winograd transforms ('forward2', 'backward4', ...), made on first use by a convolution that takes them. */
  winograd?: Map<string, WinogradFilter>;
}

/** Builds both filters from a tf-layout filter [kh, kw, in, out]. Release with disposeConstFilter. */
export function makeConstFilter(forward: tf.Tensor4D): ConstFilter {
  const backward = tf.tidy(() => tf.reverse(forward, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D);
  return { forward, backward, kernel: forward.shape[0] };
}

export function disposeConstFilter(filter: ConstFilter): void {
  tf.dispose([filter.forward, filter.backward, ...[...(filter.winograd?.values() ?? [])].flatMap((w) => w.u)]);
  filter.winograd = undefined;
}

/**
 * Winograd pays where the channel products are large and maps not tiny (measured on this CPU's wasm, 1 and
 * 2 threads: 1.3-2x at 32x32..128x128 with 256-512 channels, break-even at 16x16x512); its tile
 * transforms run in JavaScript, so narrow layers (the 32-64 channel blocks of 512-1024 px models) stay on
 * XNNPACK's direct convolution. Only the wasm backend: elsewhere the library's own kernels are faster.
 */
const WINOGRAD_MIN_CHANNELS = 128;
const WINOGRAD_MIN_PIXELS = 32 * 32;
let winogradEnabled = process.env.STABLEDRAG_WINOGRAD !== '0';

/** Turns the Winograd path off or on (benchmarks compare both; STABLEDRAG_WINOGRAD=0 sets the default off). */
export function setWinograd(enabled: boolean): void {
  winogradEnabled = enabled;
}

function useWinograd(filter: ConstFilter, outH: number, outW: number, batch: number): boolean {
  const [kh, , ci, co] = filter.forward.shape;
  return (
    winogradEnabled && kh === 3 && batch === 1 && outH % 2 === 0 && outW % 2 === 0 && outH * outW >= WINOGRAD_MIN_PIXELS &&
    ci >= WINOGRAD_MIN_CHANNELS && co >= WINOGRAD_MIN_CHANNELS && tf.getBackend() === 'wasm'
  );
}

function winogradOf(filter: ConstFilter, direction: 'forward' | 'backward', outH: number, outW: number): WinogradFilter {
  const tile = outH % 4 === 0 && outW % 4 === 0 ? 4 : 2;
  filter.winograd ??= new Map();
  const key = `${direction}${tile}`;
  let w = filter.winograd.get(key);
  if (!w) {
    w = winogradFilter(filter[direction], tile);
    for (const t of w.u) tf.keep(t);
    filter.winograd.set(key, w);
  }
  return w;
}

const pad4 = (x: tf.Tensor4D, p: number) => (p ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x);

/**
 * Stride-1 convolution. 'same' keeps the size; 'valid' shrinks it by kernel-1 (its input gradient is then
 * the 'full' convolution, i.e. padding kernel-1 on each side).
 */
export function conv2dConst(x: tf.Tensor4D, filter: ConstFilter, padding: 'same' | 'valid'): tf.Tensor4D {
  return unaryCustomGrad<tf.Tensor4D>(x, (input) => ({
    value: conv2dConstForward(input as tf.Tensor4D, filter, padding),
    gradFunc: (dy: tf.Tensor) => conv2dConstInputGrad(dy as tf.Tensor4D, filter, padding),
  }));
}

/** The convolution itself, untaped (for callers that write their own gradient). */
export function conv2dConstForward(x: tf.Tensor4D, filter: ConstFilter, padding: 'same' | 'valid'): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const shrink = padding === 'same' ? 0 : filter.kernel - 1;
  if (useWinograd(filter, h - shrink, w - shrink, n)) {
    return tf.tidy(() => winogradConvValid(pad4(x, padding === 'same' ? 1 : 0), winogradOf(filter, 'forward', h - shrink, w - shrink)));
  }
  return tf.conv2d(x, filter.forward, 1, padding);
}

/** The gradient of conv2dConstForward with respect to its input, given the output gradient dy. */
export function conv2dConstInputGrad(dy: tf.Tensor4D, filter: ConstFilter, padding: 'same' | 'valid'): tf.Tensor4D {
  const [n, h, w] = dy.shape;
  const grow = padding === 'same' ? 0 : filter.kernel - 1;
  if (useWinograd(filter, h + grow, w + grow, n)) {
    return tf.tidy(() => winogradConvValid(pad4(dy, padding === 'same' ? 1 : 2), winogradOf(filter, 'backward', h + grow, w + grow)));
  }
  return padding === 'same' ? tf.conv2d(dy, filter.backward, 1, 'same') : tf.conv2d(dy, filter.backward, 1, filter.kernel - 1);
}
