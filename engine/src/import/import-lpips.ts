/**
 * `stabledrag import-lpips`: the LPIPS v0.1 VGG16 weights into the engine's safetensors format
 * (invert/lpips.ts reads it). Two torch.save files the user brings: the lpips package's linear layers
 * (`vgg.pth`: `lin{k}.model.1.weight` [1, C, 1, 1]) and torchvision's VGG16 (`vgg16-397923af.pth`:
 * `features.N.weight` / `.bias`). Without a VGG file the linear-layer file must hold the backbone itself, as
 * a saved `lpips.LPIPS(net='vgg')` state dict does (`net.slice{s}.N.*`). Only the 13 convolutions and the 5
 * linear layers are kept (torchvision's classifier is dropped); every shape is checked against VGG16's.
 * Both torch.save formats are read: the zip archive (torch >= 1.6) and the legacy stream the published
 * files use.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { LPIPS_METADATA_KEY, VGG16_STAGES, VGG16_WIDTHS } from '../invert/lpips.js';
import { CheckpointImportError } from './errors.js';
import { FileSource } from './pickle/source.js';
import { tensorValues, type TensorValues } from './pickle/tensor-data.js';
import { unpickleTorchLegacy } from './pickle/torch-legacy.js';
import { unpickleTorchZip } from './pickle/torch-zip.js';
import { PyDict, TorchTensor, typeName, type PyValue } from './pickle/values.js';
import { writeSafetensorsStreaming } from './safetensors-writer.js';

export interface ImportLpipsOptions {
  /** The lpips package's linear layers (vgg.pth), or a whole LPIPS state dict. */
  linPath: string;
  /** torchvision's VGG16 weights; omitted when linPath holds the backbone. */
  vggPath?: string;
  outPath: string;
  /**
   * The five stage widths the files must have: VGG16's 64, 128, 256, 512, 512 unless told otherwise (the
   * tests use a narrower VGG16 of the same layout, whose random weights stay small).
   */
  widths?: readonly number[];
}

export interface ImportLpipsResult {
  outPath: string;
  bytes: number;
  tensors: number;
}

/** The string-keyed tensors of a state-dict file (a dict or OrderedDict of name -> tensor). */
function readStateDict(file: string, opened: FileSource[]): Map<string, TorchTensor> {
  const source = new FileSource(file);
  opened.push(source);
  const head = source.read(0, Math.min(4, source.length));
  const isZip = head.length === 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  const root: PyValue = isZip ? unpickleTorchZip(source, file) : unpickleTorchLegacy(source, file);
  if (!(root instanceof PyDict)) throw new CheckpointImportError(`${file}: holds a ${typeName(root)}, not a state dict (a dict of name -> tensor)`);
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of root.map) {
    if (typeof k === 'string' && v instanceof TorchTensor) out.set(k, v);
  }
  return out;
}

export function importLpips(options: ImportLpipsOptions): ImportLpipsResult {
  const widths = options.widths ?? VGG16_WIDTHS;
  if (widths.length !== 5) throw new CheckpointImportError(`LPIPS-VGG16 has 5 stages, ${widths.length} widths given`);
  const opened: FileSource[] = [];
  try {
    const lin = readStateDict(options.linPath, opened);
    const vgg = options.vggPath ? readStateDict(options.vggPath, opened) : lin;
    const vggFile = options.vggPath ?? options.linPath;
    const out = new Map<string, TensorValues>();
    const take = (tensors: Map<string, TorchTensor>, file: string, names: string[], to: string, shape: number[]) => {
      const name = names.find((n) => tensors.has(n));
      if (!name) throw new CheckpointImportError(`${file}: no tensor ${names.join(' or ')}${file === options.linPath && !options.vggPath && to.startsWith('features') ? ' (pass the torchvision VGG16 file with --vgg)' : ''}`);
      const t = tensors.get(name)!;
      if (t.shape.join(',') !== shape.join(',')) throw new CheckpointImportError(`${file}: ${name} is [${t.shape}], LPIPS-VGG16 needs [${shape}]`);
      const v = tensorValues(t, `${file}: ${name}`);
      for (const x of v.data) if (!Number.isFinite(x)) throw new CheckpointImportError(`${file}: ${name} holds a non-finite value`);
      out.set(to, { shape, data: Float32Array.from(v.data) });
      return v;
    };
    let cin = 3;
    VGG16_STAGES.forEach((stage, s) => {
      for (const idx of stage) {
        take(vgg, vggFile, [`features.${idx}.weight`, `net.slice${s + 1}.${idx}.weight`], `features.${idx}.weight`, [widths[s], cin, 3, 3]);
        take(vgg, vggFile, [`features.${idx}.bias`, `net.slice${s + 1}.${idx}.bias`], `features.${idx}.bias`, [widths[s]]);
        cin = widths[s];
      }
      const v = take(lin, options.linPath, [`lin${s}.model.1.weight`, `lin${s}.model.weight`], `lin${s}.weight`, [1, widths[s], 1, 1]);
      if (v.data.some((x) => x < 0)) throw new CheckpointImportError(`${options.linPath}: lin${s} holds negative weights (LPIPS's linear layers are non-negative)`);
    });
    mkdirSync(path.dirname(path.resolve(options.outPath)), { recursive: true });
    const meta = { [LPIPS_METADATA_KEY]: JSON.stringify({ net: 'vgg', version: '0.1', widths }) };
    const streams = new Map([...out].map(([k, v]) => [k, { shape: v.shape, values: () => v.data }]));
    const bytes = writeSafetensorsStreaming(options.outPath, streams, meta);
    return { outPath: options.outPath, bytes, tensors: out.size };
  } finally {
    for (const s of opened) s.close();
  }
}
