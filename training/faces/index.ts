// Library API of the procedural face generator (training data for the bundled StyleGAN2).
export {
  sampleFaceParams, clampParams, PARAM_NAMES, PARAM_SPECS, HAIR_STYLES, DATASET_VERSIONS, DEFAULT_DATASET_VERSION,
} from './params.js';
export type { FaceParams, ParamName, ParamSpec, DatasetVersion } from './params.js';
export { renderFace, defaultSupersample } from './render.js';
export type { RenderedFace } from './render.js';
export { LANDMARK_NAMES } from './landmarks.js';
export type { LandmarkName } from './landmarks.js';
