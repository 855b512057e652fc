/**
 * StyleGAN3's low-pass filter design, as the official SynthesisLayer.design_lowpass_filter does it with scipy:
 * a Kaiser-windowed sinc (scipy.signal.firwin) for the separable filters and a Kaiser-windowed jinc for the
 * radially symmetric downsampling filters of StyleGAN3-R. Models store these filters; the designs here give
 * random models the same buffers and let tests prove a stored filter is the one its config implies.
 */
import { numpyRandn } from '../../random.js';

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for Kaiser betas). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Bessel function of the first kind, order 1, from Bessel's integral J1(x) = (1/2pi) * integral over [0, 2pi]
 * of cos(t - x sin t): the integrand is periodic and analytic, so the trapezoid rule is exact to rounding
 * for the arguments filter design uses (|x| < 60 with 256 nodes).
 */
export function besselJ1(x: number): number {
  const n = 256;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    sum += Math.cos(t - x * Math.sin(t));
  }
  return sum / n;
}

/** scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width)), width relative to Nyquist. */
function kaiserBeta(numtaps: number, width: number): number {
  const atten = 2.285 * (numtaps - 1) * Math.PI * width + 7.95;
  if (atten > 50) return 0.1102 * (atten - 8.7);
  if (atten > 21) return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21);
  return 0;
}

/** numpy.kaiser(numtaps, beta). */
function kaiserWindow(numtaps: number, beta: number): Float64Array {
  const w = new Float64Array(numtaps);
  const denom = besselI0(beta);
  for (let i = 0; i < numtaps; i++) {
    const r = numtaps === 1 ? 0 : (2 * i) / (numtaps - 1) - 1;
    w[i] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / denom;
  }
  return w;
}

function sinc(x: number): number {
  return x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
}

/** scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs): a low-pass with unit gain at DC. */
export function designLowpass(numtaps: number, cutoff: number, width: number, fs: number): Float32Array {
  const nyq = fs / 2;
  const c = cutoff / nyq;
  const w = kaiserWindow(numtaps, kaiserBeta(numtaps, width / nyq));
  const h = new Float64Array(numtaps);
  let sum = 0;
  for (let i = 0; i < numtaps; i++) {
    const m = i - (numtaps - 1) / 2;
    h[i] = c * sinc(c * m) * w[i];
    sum += h[i];
  }
  return Float32Array.from(h, (v) => v / sum);
}

/** The official radially symmetric jinc low-pass, [numtaps x numtaps] row-major, normalised to unit sum. */
export function designRadialLowpass(numtaps: number, cutoff: number, width: number, fs: number): Float32Array {
  const w = kaiserWindow(numtaps, kaiserBeta(numtaps, width / (fs / 2)));
  const f = new Float64Array(numtaps * numtaps);
  let sum = 0;
  for (let i = 0; i < numtaps; i++) {
    for (let j = 0; j < numtaps; j++) {
      const x = (j - (numtaps - 1) / 2) / fs;
      const y = (i - (numtaps - 1) / 2) / fs;
      const r = Math.hypot(x, y);
      // At r = 0 the jinc's limit is 2 * cutoff / 2 = cutoff (only reachable with an odd tap count).
      const v = r === 0 ? cutoff : besselJ1(2 * cutoff * Math.PI * r) / (Math.PI * r);
      f[i * numtaps + j] = v * w[i] * w[j];
      sum += f[i * numtaps + j];
    }
  }
  return Float32Array.from(f, (v) => v / sum);
}

/**
 * Fourier-feature frequencies and phases for random models, drawn as the official SynthesisInput draws them
 * (uniform over a disc of radius `bandwidth`; phases uniform in [-0.5, 0.5)) from a fixed stream. Trained
 * models carry their own in the file.
 */
export function initialFrequencies(channels: number, bandwidth: number): { freqs: Float32Array; phases: Float32Array } {
  const g = numpyRandn(20211, channels * 2);
  const freqs = new Float32Array(channels * 2);
  const phases = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const [x, y] = [g[2 * c], g[2 * c + 1]];
    const r = Math.hypot(x, y);
    const s = bandwidth / (r * Math.exp(r * r) ** 0.25);
    freqs[2 * c] = x * s;
    freqs[2 * c + 1] = y * s;
    phases[c] = ((c * 0.6180339887498949) % 1) - 0.5;
  }
  return { freqs, phases };
}
