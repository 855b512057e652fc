/**
 * The projector's schedules as functions of progress t in [0, 1] through a stage: the learning rate ramps
 * up linearly over the first lrRampUp and down along a half cosine over the last lrRampDown; the w noise
 * falls quadratically to zero at noiseRampLength.
 */
export function learningRate(t: number, peak: number, rampUp: number, rampDown: number): number {
  let ramp = Math.min(1, (1 - t) / rampDown);
  ramp = 0.5 - 0.5 * Math.cos(ramp * Math.PI);
  ramp *= Math.min(1, t / rampUp);
  return peak * ramp;
}

export function noiseScale(t: number, initialFactor: number, rampLength: number): number {
  return initialFactor * Math.max(0, 1 - t / rampLength) ** 2;
}
