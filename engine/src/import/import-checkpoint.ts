/**
 * importCheckpoint: NVIDIA StyleGAN2/StyleGAN3 (and TensorFlow-era StyleGAN2) pickle -> models/NAME/
 * model.safetensors (G_ema under its official state-dict names, config in the metadata) and, when the
 * pickle has a PyTorch D, discriminator.safetensors. Nothing in the pickle is ever executed.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_METADATA_KEY } from '../model/config.js';
import { checkLoadable } from './check-loadable.js';
import { CheckpointImportError } from './errors.js';
import { generatorConfig, type ConfigObject } from './generator-config.js';
import { defaultName, guessDomain } from './names.js';
import type { PickleLimits } from './pickle/limits.js';
import { readCheckpoint } from './pickle/checkpoint.js';
import { tensorValues } from './pickle/tensor-data.js';
import { PersistentRecord, PyDict, typeName, type PyValue } from './pickle/values.js';
import { writeSafetensorsStreaming, type TensorToStream } from './safetensors-writer.js';
import { stateDict, toJson } from './state-dict.js';
import { convertTensorFlowGenerator, isTensorFlowPickle } from './tf-generator.js';

export const DISCRIMINATOR_METADATA_KEY = 'stabledrag.discriminator';
export const DISCRIMINATOR_FILE_NAME = 'discriminator.safetensors';

export interface ImportProgress {
  phase: 'read' | 'write';
  done: number;
  total: number;
}

export interface ImportOptions {
  name?: string;
  domain?: string;
  /** Present a non-square (StyleGAN-Human) model padded to a square, as DragGAN shows it (config pad_to_square). */
  padToSquare?: boolean;
  onProgress?: (p: ImportProgress) => void;
  limits?: Partial<PickleLimits>;
  /** Refuse to write more than this many bytes in all (default 16 GiB). */
  maxOutputBytes?: number;
}

export interface ImportResult {
  config: ConfigObject;
  modelFile: string;
  discriminatorFile?: string;
  /** Why no discriminator was written, when none was. */
  discriminatorSkipped?: string;
  tensors: number;
}

function record(root: PyDict, key: string): PersistentRecord | undefined {
  const v = root.get(key);
  if (v === undefined || v === null) return undefined;
  if (!(v instanceof PersistentRecord)) throw new CheckpointImportError(`'${key}' in the checkpoint is a ${typeName(v)}, not a persistent network`);
  return v;
}

function describe(root: PyValue): string {
  if (root instanceof PyDict) return `a dict with keys [${[...root.map.keys()].map(String).slice(0, 8).join(', ')}]`;
  return `a ${typeName(root)}`;
}

export async function importCheckpoint(file: string, outDir: string, options: ImportOptions = {}): Promise<ImportResult> {
  const ckpt = readCheckpoint(file, { limits: options.limits, onProgress: (p) => options.onProgress?.({ phase: 'read', ...p }) });
  try {
    const name = options.name ?? defaultName(outDir);
    if (!name) throw new CheckpointImportError('the model needs a non-empty name');
    const domain = options.domain ?? guessDomain(file);
    const root = ckpt.root;
    const tf = isTensorFlowPickle(root);
    const source = { file: path.basename(file), sha256: ckpt.sha256, format: tf ? 'tf-config-f-pickle' : 'stylegan2-ada-pickle' };

    let config: ConfigObject;
    let tensors: Map<string, TensorToStream>;
    let D: PersistentRecord | undefined;
    let discriminatorSkipped: string | undefined;
    if (tf) {
      ({ config, tensors } = convertTensorFlowGenerator(root, name, domain, source));
      discriminatorSkipped = 'TensorFlow-era discriminators are not converted (the engine never runs D)';
    } else {
      const G = root instanceof PyDict ? record(root, 'G_ema') : undefined;
      if (!G) throw new CheckpointImportError(`not a StyleGAN checkpoint: the pickle holds ${describe(root)}, with no G_ema network`);
      const raw = stateDict(G, 'G_ema');
      if (raw.has('synthesis.input.weight')) source.format = 'stylegan3-pickle';
      config = generatorConfig({ G, tensors: raw, name, domain, source });
      tensors = new Map([...raw].map(([n, t]) => [n, { shape: t.shape, values: () => tensorValues(t, n).data }]));
      D = record(root as PyDict, 'D');
      if (!D) discriminatorSkipped = 'the checkpoint has no D';
    }

    if (options.padToSquare) {
      const width = typeof config.img_width === 'number' ? config.img_width : config.img_resolution;
      if (width === config.img_resolution) {
        throw new CheckpointImportError(`padding to a square is for non-square models (StyleGAN-Human); this one is already ${width}x${width}`);
      }
      config.pad_to_square = true;
    }
    const modelFile = path.join(outDir, 'model.safetensors');
    tensors = checkLoadable(config, tensors, modelFile);

    const dTensors = D ? stateDict(D, 'D') : undefined;
    const count = (m: Map<string, { shape: number[] }>) => [...m.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1) * 4, 0);
    const outBytes = count(tensors) + (dTensors ? count(dTensors) : 0);
    const limit = options.maxOutputBytes ?? 16 * 2 ** 30;
    if (outBytes > limit) throw new CheckpointImportError(`the import would write ${outBytes} bytes, more than the ${limit}-byte limit`);

    mkdirSync(outDir, { recursive: true });
    const total = tensors.size + (dTensors?.size ?? 0);
    const progress = (done: number) => options.onProgress?.({ phase: 'write', done, total });
    writeSafetensorsStreaming(modelFile, tensors, { [CONFIG_METADATA_KEY]: JSON.stringify(config) }, progress);
    let discriminatorFile: string | undefined;
    if (D && dTensors) {
      discriminatorFile = path.join(outDir, DISCRIMINATOR_FILE_NAME);
      const streams = new Map([...dTensors].map(([n, t]) => [n, { shape: t.shape, values: () => tensorValues(t, n).data }]));
      const kwargs = D.state.get('_init_kwargs');
      const meta = { class_name: D.className, init_kwargs: kwargs instanceof PyDict ? toJson(kwargs) : {} };
      writeSafetensorsStreaming(discriminatorFile, streams, { [DISCRIMINATOR_METADATA_KEY]: JSON.stringify(meta) }, (d) => progress(tensors.size + d));
    }
    return { config, modelFile, discriminatorFile, discriminatorSkipped, tensors: tensors.size };
  } finally {
    ckpt.close();
  }
}
