// Face parameters: the latent "truth" behind each image. Everything is a plain number so
// a params object can be serialised, interpolated and fed to the renderer unchanged;
// the renderer (params -> image) is a pure function of this object.
import { Rng } from './prng.js';

/**
 * Dataset versions: which distribution sampleFaceParams draws from. Version 1 is the domain the shipped
 * faces128 was trained and measured on (docs/models.md), so it stays the default and renders byte for byte as
 * before. Version 2 is the domain for retraining towards long drags: the background gradient's direction is
 * drawn on its own (in version 1 it is bgHue * 40, so colour and direction vary together and a generator
 * learns them as one factor), mouths open up to twice as wide, and heads turn up to ~30° instead of ~20°.
 */
export const DATASET_VERSIONS = [1, 2] as const;
export type DatasetVersion = (typeof DATASET_VERSIONS)[number];
export const DEFAULT_DATASET_VERSION: DatasetVersion = 1;

export type ParamKind = 'continuous' | 'int' | 'bool';
export interface ParamSpec {
  min: number;
  max: number;
  kind: ParamKind;
  doc: string;
}

// Order matters: it is the order of PARAM_NAMES in meta.json and of any vector export. Ranges are the union
// over dataset versions (what the renderer accepts); each version's sampler keeps to its own part.
export const PARAM_SPECS = {
  yaw: { min: -1.5, max: 1.5, kind: 'continuous', doc: 'head turn, -1 = faces image-left, +1 = image-right (~±20°); version 1 samples ±1, version 2 ±1.5 (~±30°)' },
  roll: { min: -1, max: 1, kind: 'continuous', doc: 'head tilt in the image plane (~±8°)' },
  faceWidth: { min: 0, max: 1, kind: 'continuous', doc: 'cranium / cheek width' },
  faceHeight: { min: 0, max: 1, kind: 'continuous', doc: 'cranium height and chin drop' },
  jaw: { min: 0, max: 1, kind: 'continuous', doc: 'jaw width: 0 pointed chin, 1 square jaw' },
  eyeSize: { min: 0, max: 1, kind: 'continuous', doc: 'eye width' },
  eyeSpacing: { min: 0, max: 1, kind: 'continuous', doc: 'distance between the eyes' },
  eyeOpen: { min: 0, max: 1, kind: 'continuous', doc: 'eyelid opening' },
  gazeX: { min: -1, max: 1, kind: 'continuous', doc: 'pupil offset, image-left to image-right' },
  gazeY: { min: -1, max: 1, kind: 'continuous', doc: 'pupil offset, up to down' },
  browHeight: { min: 0, max: 1, kind: 'continuous', doc: 'brow distance above the eye' },
  browTilt: { min: -1, max: 1, kind: 'continuous', doc: '-1 inner ends raised (worried), +1 inner ends lowered (stern)' },
  browThickness: { min: 0, max: 1, kind: 'continuous', doc: 'brow stroke width' },
  noseLength: { min: 0, max: 1, kind: 'continuous', doc: 'eye line to nose tip distance' },
  noseWidth: { min: 0, max: 1, kind: 'continuous', doc: 'nostril wing width' },
  mouthWidth: { min: 0, max: 1, kind: 'continuous', doc: 'corner to corner width' },
  mouthOpen: { min: 0, max: 2, kind: 'continuous', doc: 'lip separation; version 1 samples up to 1, version 2 up to 2 (wide open)' },
  smile: { min: -1, max: 1, kind: 'continuous', doc: 'mouth curvature, -1 frown, +1 smile' },
  lipThickness: { min: 0, max: 1, kind: 'continuous', doc: 'lip fullness' },
  earSize: { min: 0, max: 1, kind: 'continuous', doc: 'ear size' },
  hairStyle: { min: 0, max: 5, kind: 'int', doc: '0 buzz, 1 short side part, 2 bob with bangs, 3 long, 4 curly, 5 bun' },
  hairLength: { min: 0, max: 1, kind: 'continuous', doc: 'length of bob / long styles, fringe depth of short ones' },
  hairVolume: { min: 0, max: 1, kind: 'continuous', doc: 'how far hair stands off the skull' },
  hairColor: { min: 0, max: 1, kind: 'continuous', doc: 'position on a palette black..brown..red..blonde..grey..dyed' },
  skinTone: { min: 0, max: 1, kind: 'continuous', doc: 'light to dark skin palette' },
  irisColor: { min: 0, max: 1, kind: 'continuous', doc: 'brown..hazel..green..blue..grey palette' },
  glasses: { min: 0, max: 1, kind: 'bool', doc: '1 = wears glasses (p = 0.25)' },
  glassesShape: { min: 0, max: 1, kind: 'continuous', doc: 'round (0) to rectangular (1) frames' },
  lightAngle: { min: -1, max: 1, kind: 'continuous', doc: 'key light direction, -1 upper-left .. +1 upper-right' },
  lightStrength: { min: 0, max: 1, kind: 'continuous', doc: 'key light vs ambient' },
  bgHue: { min: 0, max: 1, kind: 'continuous', doc: 'background hue' },
  bgGradient: { min: 0, max: 1, kind: 'continuous', doc: 'background gradient strength' },
  shirtHue: { min: 0, max: 1, kind: 'continuous', doc: 'clothing hue' },
  bgAngle: { min: 0, max: 40, kind: 'continuous', doc: 'background gradient direction, radians; version 1 bgHue * 40, version 2 drawn in [0, 2π)' },
} satisfies Record<string, ParamSpec>;

export type ParamName = keyof typeof PARAM_SPECS;
export type FaceParams = Record<ParamName, number>;
export const PARAM_NAMES = Object.keys(PARAM_SPECS) as ParamName[];
export const HAIR_STYLES = ['buzz', 'short', 'bob', 'long', 'curly', 'bun'] as const;

/**
 * Deterministic params for a seed. Draw order is fixed (one draw per param, in
 * PARAM_NAMES order, plus nothing conditional) so adding a param at the end never
 * changes the faces of existing seeds.
 */
export function sampleFaceParams(seed: number, version: DatasetVersion = DEFAULT_DATASET_VERSION): FaceParams {
  if (!DATASET_VERSIONS.includes(version)) throw new Error(`unknown dataset version ${version}`);
  const r = new Rng(seed);
  const p = {} as FaceParams;
  for (const name of PARAM_NAMES) {
    const s: ParamSpec = PARAM_SPECS[name];
    const u = r.float();
    const v = r.float(); // second draw, used for centred (less extreme) distributions
    let x: number;
    if (s.kind === 'bool') x = u < 0.25 ? 1 : 0;
    else if (s.kind === 'int') x = Math.min(s.max, Math.floor(u * (s.max - s.min + 1)) + s.min);
    else if (name === 'yaw') x = (version === 1 ? 1 : 1.5) * (u + v - 1); // most faces near frontal, like FFHQ
    else if (name === 'roll' || name === 'gazeX' || name === 'gazeY')
      x = s.min + (s.max - s.min) * 0.5 * (u + v);
    else if (name === 'mouthOpen') x = u < 0.5 ? 0.12 * v : (version === 1 ? 1 : 2) * v; // half (nearly) closed
    else if (name === 'bgAngle') x = version === 1 ? p.bgHue * 40 : 2 * Math.PI * u;
    else if (name === 'smile') x = -0.6 + 1.6 * (0.5 * (u + v)); // skew toward smiling
    else x = s.min + (s.max - s.min) * u;
    p[name] = x;
  }
  return p;
}

/** Clamp every field into its declared range (for user-edited or interpolated params). */
export function clampParams(p: FaceParams): FaceParams {
  const out = {} as FaceParams;
  for (const name of PARAM_NAMES) {
    const s: ParamSpec = PARAM_SPECS[name];
    let x = Math.min(s.max, Math.max(s.min, p[name]));
    if (s.kind !== 'continuous') x = Math.round(x);
    out[name] = x;
  }
  return out;
}
