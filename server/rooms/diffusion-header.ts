/**
 * What the studio needs to list a diffusion model (a diffusers-layout folder) without loading it: its UNet's and
 * VAE's configs (checked by the engine's own config readers, which hold no tensor code), the image size they
 * imply, the bytes and identity of its files, and its model card (`diffusion-model.json`: a name, the prompt a
 * drag uses and the room settings a new room starts from, all optional). Weights are not read here (the worker's
 * load checks them); a folder missing a part, with a config the engine refuses, with a file that is not a regular
 * file, or with a card a room could not take is a ModelHeaderError naming it.
 */
import { lstatSync, openSync, fstatSync, readSync, closeSync, realpathSync, constants as fsConstants } from 'node:fs';
import { join, sep } from 'node:path';
import { ConfigReader } from '../../engine/src/diffusion/config-reader.js';
import { readUNetConfig } from '../../engine/src/diffusion/unet-config.js';
import { readVAEConfig } from '../../engine/src/diffusion/vae-config.js';
import { DIFFUSION_FILES, DIFFUSION_MODEL_MARKER, OPTIONAL_DIFFUSION_FILES } from '../../engine/src/diffusion/folder-files.js';
import { MAX_PROMPT_CHARS } from '../../engine/src/diffusion/tokenizer.js';
import { MAX_DIFFUSION_IMAGE_SIDE } from '../../engine/src/diffusion/options.js';
import { checkCardSettings, type DiffusionSettings } from '../../contract/diffusion-settings.js';
import { ModelHeaderError } from './model-header.js';

/** Configs and the model card are small; anything larger is refused before it is read. */
const MAX_JSON_BYTES = 1024 * 1024;

/** Whether `dir` is laid out as a diffusion model (then it is listed as one, broken or not). */
export function looksLikeDiffusionFolder(dir: string): boolean {
  for (const marker of ['unet', DIFFUSION_MODEL_MARKER]) {
    try {
      lstatSync(join(dir, marker));
      return true;
    } catch {
      // not this marker
    }
  }
  return false;
}

export interface DiffusionHeader {
  width: number;
  height: number;
  /** From the model card; undefined: the id is shown. */
  name?: string;
  /** What the images show, for the drag's text conditioning (DragDiffusion's prompt); '' without a card. */
  prompt: string;
  /** The room settings the card says the model drags well with (a new room starts from them); {} without. */
  settings: Partial<DiffusionSettings>;
  fileBytes: number;
  identity: string;
}

function statFile(dir: string, rel: string): { size: number; mtimeMs: number } {
  let st;
  try {
    st = lstatSync(join(dir, rel));
  } catch {
    throw new ModelHeaderError(`${rel} is missing (a diffusion model needs ${DIFFUSION_FILES.join(', ')})`);
  }
  if (!st.isFile()) throw new ModelHeaderError(`${rel} is not a regular file`);
  // A part folder (unet/, vae/...) may not be a link elsewhere either: the model is what is in its folder.
  if (!realpathSync(join(dir, rel)).startsWith(dir + sep)) throw new ModelHeaderError(`${rel} leads outside the model's folder`);
  return st;
}

function readJson(dir: string, rel: string): unknown {
  const fd = (() => {
    try {
      return openSync(join(dir, rel), fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
    } catch (err) {
      throw new ModelHeaderError(`${rel} cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  })();
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_JSON_BYTES) throw new ModelHeaderError(`${rel} is ${size} bytes; at most ${MAX_JSON_BYTES} are read`);
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    try {
      return JSON.parse(buf.subarray(0, done).toString('utf8'));
    } catch (err) {
      throw new ModelHeaderError(`${rel} is not valid JSON (${(err as Error).message})`);
    }
  } finally {
    closeSync(fd);
  }
}

function config(dir: string, rel: string): ConfigReader {
  const raw = readJson(dir, rel);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelHeaderError(`${rel} is not a JSON object`);
  return new ConfigReader(raw as Record<string, unknown>, rel);
}

function card(dir: string): { name?: string; prompt: string; settings: Partial<DiffusionSettings> } {
  try {
    lstatSync(join(dir, DIFFUSION_MODEL_MARKER));
  } catch {
    return { prompt: '', settings: {} };
  }
  const raw = readJson(dir, DIFFUSION_MODEL_MARKER) as { name?: unknown; prompt?: unknown; settings?: unknown } | null;
  if (!raw || typeof raw !== 'object') throw new ModelHeaderError(`${DIFFUSION_MODEL_MARKER} is not a JSON object`);
  if (raw.prompt !== undefined && (typeof raw.prompt !== 'string' || raw.prompt.length > MAX_PROMPT_CHARS)) {
    throw new ModelHeaderError(`${DIFFUSION_MODEL_MARKER}: prompt must be a string of at most ${MAX_PROMPT_CHARS} characters`);
  }
  const checked = raw.settings === undefined ? { settings: {} } : checkCardSettings(raw.settings);
  if ('problem' in checked) throw new ModelHeaderError(`${DIFFUSION_MODEL_MARKER}: ${checked.problem}`);
  return { name: typeof raw.name === 'string' ? raw.name : undefined, prompt: (raw.prompt as string | undefined) ?? '', settings: checked.settings };
}

/** Reads and checks a diffusion model folder's description (`dir` already resolved to a real path). */
export function readDiffusionHeader(dir: string): DiffusionHeader {
  const files = [...DIFFUSION_FILES, ...OPTIONAL_DIFFUSION_FILES.filter((f) => {
    try {
      lstatSync(join(dir, f));
      return true;
    } catch {
      return false;
    }
  })];
  const stats = files.map((f) => statFile(dir, f));
  let unet, vae;
  try {
    unet = readUNetConfig(config(dir, 'unet/config.json'));
    vae = readVAEConfig(config(dir, 'vae/config.json'));
  } catch (err) {
    if (err instanceof ModelHeaderError) throw err;
    throw new ModelHeaderError((err as Error).message);
  }
  if (vae.latentChannels !== unet.inChannels) {
    throw new ModelHeaderError(`the vae's ${vae.latentChannels} latent channels do not fit the unet's ${unet.inChannels} input channels`);
  }
  const side = unet.sampleSize * 2 ** (vae.blockOutChannels.length - 1);
  // Photos are fitted to this size before the engine sees them: refuse what the drag would refuse, before any upload.
  if (side > MAX_DIFFUSION_IMAGE_SIDE) throw new ModelHeaderError(`its images would be ${side} px (sample_size ${unet.sampleSize} x the vae's factor); the diffusion drag takes at most ${MAX_DIFFUSION_IMAGE_SIDE}`);
  const { name, prompt, settings } = card(dir);
  return {
    width: side, height: side, name, prompt, settings,
    fileBytes: stats.reduce((a, s) => a + s.size, 0),
    // Any part replaced changes it: the workers key their loaded models on the same string.
    identity: stats.map((s) => `${s.size}:${Math.round(s.mtimeMs)}`).join('/'),
  };
}
