/** The diffusion drag methods the GAN-vs-diffusion benchmark compares (named engine option presets). */
import type { DiffusionDragOptionsInput } from '../engine/src/index.js';

export interface DiffusionMethodSpec {
  name: string;
  options: DiffusionDragOptionsInput;
}

export const DIFFUSION_METHODS: Record<string, DiffusionDragOptionsInput> = {
  dragdiffusion: { method: 'dragdiffusion' },
  'stabledrag-diff': { method: 'stabledrag-diff' },
};

export function diffusionMethodSpecs(list: string[]): DiffusionMethodSpec[] {
  return list.map((name) => {
    const options = DIFFUSION_METHODS[name];
    if (!options) throw new Error(`unknown diffusion method '${name}'; known: ${Object.keys(DIFFUSION_METHODS).join(', ')}`);
    return { name, options: structuredClone(options) };
  });
}
