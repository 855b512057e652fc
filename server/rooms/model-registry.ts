/**
 * The models a studio offers, by id: every subdirectory of the models directory that holds model.safetensors
 * (a GAN) or is laid out as a diffusers folder (a diffusion model, diffusion-header.ts), its name the id, plus any
 * fixed entries the server was started with. A scan reads only each file's
 * header (model-header.ts), at start and on demand (`models:rescan`); the weights are loaded by the workers.
 * A model that cannot be offered is listed as unavailable with its reason and logged once per scan; the
 * others keep working. The main thread never imports TensorFlow.js: model-header.ts uses only the engine's
 * pure config modules.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, extname, join, sep } from 'node:path';
import type { ModelInfo, UnavailableModel } from '../../contract/events.js';
import type { DiffusionSettings } from '../../contract/diffusion-settings.js';
import { presentedSize } from '../../engine/src/model/image-size.js';
import { FACES128_CONFIG } from '../../engine/src/model/config.js';
import { lpipsPathIn } from '../../engine/src/invert/lpips-file.js';
import { cleanDisplayText, MAX_NAME_GRAPHEMES, MAX_TITLE_GRAPHEMES } from '../../contract/display-text.js';
import { ModelHeaderError, readModelHeader } from './model-header.js';
import { looksLikeDiffusionFolder, readDiffusionHeader } from './diffusion-header.js';

export const MODEL_FILE = 'model.safetensors';

/** Letters, digits, '.', '_' and '-', starting with a letter or digit (so never '.', '..' or hidden), at most 64. */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Directory entries one scan looks at: a scan's cost stays bounded whatever the directory holds. */
export const MAX_SCANNED_ENTRIES = 512;

/** Rescans closer together than this answer the last scan's result (anyone may ask; the disk is not theirs to churn). */
export const RESCAN_MIN_INTERVAL_MS = 1000;

export interface ModelEntry {
  id: string;
  /** Shown in the model picker; default the config's name. */
  label?: string;
  /** A .safetensors file, a model directory holding model.safetensors, or a diffusion model's folder. */
  path: string;
}

export interface ModelSources {
  /** Fixed models (tests; `npm start` uses `modelsDir`). Their ids win over a directory's. */
  models?: ModelEntry[];
  /** Scanned for `<id>/model.safetensors`. */
  modelsDir?: string;
}

export interface ResolvedModel extends Omit<ModelInfo, 'stepMs'> {
  /** The real path of the model file (symlinks resolved); a diffusion model's folder. */
  path: string;
  /** A diffusion model's prompt (its model card's; '' without one). */
  prompt?: string;
  /** A diffusion model's card's room settings: what a new room of it starts from. */
  diffusionSettings?: Partial<DiffusionSettings>;
  /** model-header.ts fileIdentity: changes when the file is replaced. */
  identity: string;
}

export interface ModelList {
  models: ModelInfo[];
  unavailable: UnavailableModel[];
  /** Whether LPIPS-VGG16's weights are installed (the inversion's 'lpips' loss is offered). */
  lpips: boolean;
}

/** The one wording of "this room's model cannot be used" (ack errors and HTTP 409s alike). */
export function modelUnavailableMessage(id: string, reason: string): string {
  return `model ${id} is not available on this server: ${reason}`;
}

/** Why a path cannot be offered, as a sentence; unexpected failures keep their system message. */
function reasonOf(err: unknown): string {
  if (err instanceof ModelHeaderError) return err.message;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'the file cannot be read (permission denied)';
  return `the file cannot be read (${code ?? (err as Error)?.message ?? String(err)})`;
}

function describe(file: string, id: string, label: string | undefined): ResolvedModel {
  const { config, fileBytes, identity } = readModelHeader(file);
  const { width, height } = presentedSize(config);
  // The config's free text goes to every client's model list: cleaned and bounded like titles and names.
  // The shipped faces128 file was written before configs named their domain; the engine's detectorLossSuits
  // knows it by name the same way.
  const named = config.domain ?? (config.name === FACES128_CONFIG.name ? FACES128_CONFIG.domain : undefined);
  const domain = cleanDisplayText(named ?? '', MAX_NAME_GRAPHEMES);
  return {
    id, label: label ?? (cleanDisplayText(config.name, MAX_TITLE_GRAPHEMES) || id), width, height, ...(domain ? { domain } : {}),
    kind: 'gan', architecture: config.architecture, fileBytes, path: file, identity,
  };
}

function describeDiffusion(dir: string, id: string, label: string | undefined): ResolvedModel {
  const h = readDiffusionHeader(dir);
  return {
    id, label: label ?? (cleanDisplayText(h.name ?? '', MAX_TITLE_GRAPHEMES) || id), width: h.width, height: h.height,
    kind: 'diffusion', architecture: 'diffusion', fileBytes: h.fileBytes, path: dir, identity: h.identity, prompt: h.prompt, diffusionSettings: h.settings,
  };
}

type Found = { ok: true; model: ResolvedModel } | { ok: false; reason: string };

function fromEntry(e: ModelEntry): Found {
  if (!MODEL_ID.test(e.id)) return { ok: false, reason: 'not a valid model id (letters, digits, ".", "_", "-", starting with a letter or digit, at most 64)' };
  try {
    const real = realpathSync(e.path);
    if (statSync(real).isDirectory() && looksLikeDiffusionFolder(real)) return { ok: true, model: describeDiffusion(real, e.id, e.label) };
    const file = statSync(real).isDirectory() ? realpathSync(join(real, MODEL_FILE)) : real;
    return { ok: true, model: describe(file, e.id, e.label) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return { ok: false, reason: `${e.path} is missing` };
    return { ok: false, reason: reasonOf(err) };
  }
}

/** A directory entry's name as ids and reasons show it: quoted when it is not a valid id (it may hold anything, newlines included). */
function shownName(name: string): string {
  return MODEL_ID.test(name) ? name : JSON.stringify(name).slice(0, 80);
}

/** One directory entry of the models directory; null when it is not meant as a model (no model.safetensors, no diffusers layout). */
function fromDirEntry(root: string, entry: Dirent): ({ id: string } & Found) | null {
  const path = join(root, entry.name);
  const name = shownName(entry.name);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    // Loose model files are a common mistake: say what to do with them rather than ignoring them.
    const ext = extname(entry.name).toLowerCase();
    const stem = shownName(basename(entry.name, extname(entry.name)));
    if (ext === '.pkl') return { id: name, ok: false, reason: `a pickle: import it with \`stabledrag import ${name} --out <models dir>/${stem}\`` };
    if (ext === '.safetensors') return { id: name, ok: false, reason: `a loose file: move it to <models dir>/${stem}/${MODEL_FILE}` };
    return null;
  }
  const file = join(path, MODEL_FILE);
  try {
    lstatSync(file);
  } catch {
    return looksLikeDiffusionFolder(path) ? fromDiffusionDir(root, path, entry.name, name) : null;
  }
  if (!MODEL_ID.test(entry.name)) return { id: name, ok: false, reason: 'the directory name is not a valid model id (letters, digits, ".", "_", "-", starting with a letter or digit, at most 64)' };
  let real: string;
  try {
    real = realpathSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { id: name, ok: false, reason: code === 'ENOENT' ? `${MODEL_FILE} is a symbolic link to nothing` : reasonOf(err) };
  }
  if (!real.startsWith(root + sep)) return { id: name, ok: false, reason: `${MODEL_FILE} leads outside the models directory; put the model itself there` };
  try {
    return { id: name, ok: true, model: describe(real, name, undefined) };
  } catch (err) {
    return { id: name, ok: false, reason: reasonOf(err) };
  }
}

function fromDiffusionDir(root: string, path: string, entryName: string, name: string): { id: string } & Found {
  if (!MODEL_ID.test(entryName)) return { id: name, ok: false, reason: 'the directory name is not a valid model id (letters, digits, ".", "_", "-", starting with a letter or digit, at most 64)' };
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    return { id: name, ok: false, reason: reasonOf(err) };
  }
  if (!(real + sep).startsWith(root + sep)) return { id: name, ok: false, reason: 'the folder leads outside the models directory; put the model itself there' };
  try {
    return { id: name, ok: true, model: describeDiffusion(real, name, undefined) };
  } catch (err) {
    return { id: name, ok: false, reason: reasonOf(err) };
  }
}

export class ModelRegistry {
  private available = new Map<string, ResolvedModel>();
  private unavailable = new Map<string, string>();
  /** Every model offered since start, as last seen: rooms of a model that went away keep their size. */
  private readonly known = new Map<string, ResolvedModel>();
  private lastScan = -Infinity;
  private readonly log: (line: string) => void;

  constructor(
    private readonly sources: ModelSources,
    opts: { log?: (line: string) => void } = {},
  ) {
    this.log = opts.log ?? ((line) => console.log(line));
    this.scan();
  }

  /** Reads every model's header again: new models are offered, changed ones re-described, gone ones listed unavailable. */
  scan(): void {
    const available = new Map<string, ResolvedModel>();
    const unavailable = new Map<string, string>();
    const add = (id: string, found: Found) => {
      if (available.has(id) || unavailable.has(id)) {
        this.log(`[models] ${id}: ignored a second model with this id`);
        return;
      }
      if (found.ok) available.set(id, found.model);
      else unavailable.set(id, found.reason);
    };
    for (const e of this.sources.models ?? []) add(e.id, fromEntry(e));
    const dir = this.sources.modelsDir;
    if (dir) {
      try {
        const root = realpathSync(dir);
        const entries = readdirSync(root, { withFileTypes: true })
          .filter((e) => !e.name.startsWith('.'))
          .sort((a, b) => (a.name < b.name ? -1 : 1));
        if (entries.length > MAX_SCANNED_ENTRIES) this.log(`[models] ${dir} has ${entries.length} entries; only the first ${MAX_SCANNED_ENTRIES} are looked at`);
        for (const e of entries.slice(0, MAX_SCANNED_ENTRIES)) {
          const found = fromDirEntry(root, e);
          if (found) add(found.id, found);
        }
      } catch (err) {
        this.log(`[models] the models directory ${dir} cannot be read: ${(err as Error).message}`);
      }
    }
    for (const id of this.known.keys()) if (!available.has(id) && !unavailable.has(id)) unavailable.set(id, 'it was removed from the models directory');
    for (const [id, m] of available) this.known.set(id, m);
    this.available = available;
    this.unavailable = unavailable;
    this.lastScan = performance.now();
    for (const [id, reason] of unavailable) this.log(`[models] ${id} unavailable: ${reason}`);
    this.log(`[models] ${available.size} model(s) available: ${[...available.keys()].join(', ') || 'none'}`);
  }

  /** A scan on request, coalesced: asks within RESCAN_MIN_INTERVAL_MS of the last scan get its result. */
  rescan(): void {
    if (performance.now() - this.lastScan >= RESCAN_MIN_INTERVAL_MS) this.scan();
  }

  /** The models as the UI shows them; `stepMs` adds the measured step time of a model, when there is one. */
  list(stepMs: (m: ResolvedModel) => number | undefined = () => undefined): ModelList {
    return {
      models: [...this.available.values()].map((m) => {
        const { path: _path, identity: _identity, prompt: _prompt, diffusionSettings: _settings, ...info } = m;
        const ms = stepMs(m);
        return ms === undefined ? info : { ...info, stepMs: ms };
      }),
      unavailable: [...this.unavailable].map(([id, reason]) => ({ id, reason })),
      lpips: this.lpipsPath() !== null,
    };
  }

  /**
   * LPIPS-VGG16's weights file when it is there, else null. Looked for at each ask (one stat), so a file
   * imported while the server runs is offered without a restart.
   */
  lpipsPath(): string | null {
    const dir = this.sources.modelsDir;
    if (!dir) return null;
    const file = lpipsPathIn(dir);
    try {
      return statSync(file).isFile() ? file : null;
    } catch {
      return null;
    }
  }

  /** An available model. */
  get(id: string): ResolvedModel | undefined {
    return this.available.get(id);
  }

  /** The model as last seen, available or not (sizes of existing rooms). */
  lastKnown(id: string): ResolvedModel | undefined {
    return this.available.get(id) ?? this.known.get(id);
  }

  /** Whether `id` names a model this server offers, lists as unavailable, or offered earlier. */
  isListed(id: string): boolean {
    return this.available.has(id) || this.unavailable.has(id) || this.known.has(id);
  }

  /** Why `id` cannot be used: its reason from the last scan, or that it is not installed here. */
  unavailableReason(id: string): string {
    return this.unavailable.get(id) ?? 'it is not installed';
  }

  /** The available model whose file is `path` (the workers' jobs name models by path). */
  byPath(path: string): ResolvedModel | undefined {
    for (const m of this.available.values()) if (m.path === path) return m;
    return undefined;
  }

  all(): ResolvedModel[] {
    return [...this.available.values()];
  }
}
