/**
 * `stabledrag import-diffusers`: checks a diffusers-layout folder by loading every part (folder.ts refuses
 * anything the engine cannot run, naming the file) and writes it as the engine's diffusion model folder:
 * the same parts' files, copied, plus diffusion-model.json marking the folder a diffusion model (the model
 * registry tells it from a GAN's model.safetensors by that file). The engine reads diffusers' safetensors
 * and configs directly, so copying keeps one reader. The copy is written beside the destination and renamed
 * into place only when complete: a failed import leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError } from '../errors.js';
import { loadDiffusionFolder } from './folder.js';
import { MAX_PROMPT_CHARS } from './tokenizer.js';
import { checkCardSettings, type DiffusionSettings } from '../../../contract/diffusion-settings.js';

import { DIFFUSION_FILES as FILES, DIFFUSION_MODEL_MARKER, OPTIONAL_DIFFUSION_FILES as OPTIONAL_FILES } from './folder-files.js';

export { DIFFUSION_MODEL_MARKER };

export interface DiffusionModelMarker {
  format: 'stabledrag-diffusion';
  version: 1;
  name: string;
  /** Image side the UNet was configured for (sample_size x the VAE's factor). */
  imageSize: number;
  latentChannels: number;
  unetParameters: number;
  /** What the model's images show: a diffusion room's default prompt (DragDiffusion conditions on it). */
  prompt?: string;
  /** Room settings this model drags well with: a new room of it starts from them (contract's checkCardSettings). */
  settings?: Partial<DiffusionSettings>;
}

/** What the import writes into the model card besides what it reads from the folder. */
export interface DiffusionCardInput {
  prompt?: string;
  /** Checked as the studio checks a card's settings; a bad one fails the import before anything is written. */
  settings?: unknown;
}

export interface DiffusersImportResult {
  outDir: string;
  marker: DiffusionModelMarker;
  files: string[];
  bytes: number;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function importDiffusersFolder(dir: string, outDir: string, name = path.basename(path.resolve(outDir)), card: DiffusionCardInput = {}): DiffusersImportResult {
  const { prompt } = card;
  if (!NAME_PATTERN.test(name)) throw new ModelLoadError(`model name '${name}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  if (prompt !== undefined && prompt.length > MAX_PROMPT_CHARS) throw new ModelLoadError(`the prompt is ${prompt.length} characters; at most ${MAX_PROMPT_CHARS}`);
  const checked = card.settings === undefined ? undefined : checkCardSettings(card.settings);
  if (checked && 'problem' in checked) throw new ModelLoadError(`the model card's ${checked.problem}`);
  if (fs.existsSync(outDir)) throw new ModelLoadError(`${outDir} already exists: import into a new folder`);
  const models = loadDiffusionFolder(dir);
  let marker: DiffusionModelMarker;
  try {
    const { unet, vae } = models;
    if (vae!.config.latentChannels !== unet!.config.inChannels) {
      throw new ModelLoadError(`the vae's latent_channels ${vae!.config.latentChannels} differ from the unet's in_channels ${unet!.config.inChannels}`);
    }
    marker = {
      format: 'stabledrag-diffusion',
      version: 1,
      name,
      imageSize: unet!.config.sampleSize * vae!.downFactor,
      latentChannels: vae!.config.latentChannels,
      unetParameters: unet!.parameterCount(),
      ...(prompt !== undefined ? { prompt } : {}),
      ...(checked ? { settings: checked.settings } : {}),
    };
  } finally {
    models.dispose();
  }
  const files = [...FILES, ...OPTIONAL_FILES.filter((f) => fs.existsSync(path.join(dir, f)))];
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.import-${name}-`));
  let bytes = 0;
  try {
    for (const f of files) {
      const to = path.join(staging, f);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      // The file loaded above: a regular file (folder.ts refuses anything else) read through any link.
      fs.copyFileSync(path.join(dir, f), to);
      bytes += fs.statSync(to).size;
    }
    fs.writeFileSync(path.join(staging, DIFFUSION_MODEL_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    fs.renameSync(staging, outDir);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { outDir, marker, files: [...files, DIFFUSION_MODEL_MARKER], bytes };
}
