/**
 * What a fork from a preview step of a diffusion drag costs: one VAE decode of the step's clean latent on a
 * worker (engine decodeDiffusionLatent, random weights: the cost depends on the config, not the values) plus the
 * PNG the new room keeps. Configs: the small candidate's VAE (32/64/128/128) and SD 1.5's (128/256/512/512, 2
 * layers per block). Run: npx tsx server/tools/bench-diffusion-fork-decode.ts [sd15-512]
 */
import { decodeDiffusionLatent, initBackend, randomVAE, type VAEConfig } from '../../engine/src/index.js';
import { encodeImage } from '../jobs/frame-encoder.js';

const base = { inChannels: 3, outChannels: 3, latentChannels: 4, normNumGroups: 32, scalingFactor: 0.18215 };
const cases: { name: string; config: VAEConfig; side: number }[] = [
  { name: 'small VAE', config: { ...base, blockOutChannels: [32, 64, 128, 128], layersPerBlock: 1 }, side: 256 },
  { name: 'SD 1.5 VAE', config: { ...base, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2 }, side: 256 },
];
if (process.argv.includes('sd15-512')) cases.push({ ...cases[1], side: 512 });

await initBackend({ backend: 'wasm', log: () => {} });
console.log('| VAE | image | decode (first, second) | PNG encode |');
console.log('| --- | --- | --- | --- |');
for (const c of cases) {
  const vae = randomVAE(c.config);
  const cells = (c.side / vae.downFactor) ** 2 * 4;
  const latent = Float32Array.from({ length: cells }, (_, i) => Math.sin(i));
  const times: number[] = [];
  let img;
  for (let k = 0; k < 2; k++) {
    const t0 = performance.now();
    img = await decodeDiffusionLatent(vae, latent, c.side, c.side);
    times.push(performance.now() - t0);
  }
  const t1 = performance.now();
  await encodeImage(img!, 'png');
  const png = performance.now() - t1;
  console.log(`| ${c.name} | ${c.side} px | ${(times[0] / 1000).toFixed(2)} s, ${(times[1] / 1000).toFixed(2)} s | ${png.toFixed(0)} ms |`);
  vae.dispose();
}
