/**
 * StyleGAN3 (alias-free generator, -T and -R): the architecture's entry point for the engine's dispatch
 * (createGenerator, validateConfig, expectedParams).
 */
export { validateStyleGAN3Config, expectedStyleGAN3Params, synthesisGeometry, type StyleGAN3Config, type LayerGeometry } from './config.js';
export { StyleGAN3Generator } from './generator.js';
