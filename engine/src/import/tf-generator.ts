/**
 * TensorFlow-era StyleGAN2 (config-f) pickles: a tuple (G, D, Gs) of dnnlib.tflib.network.Network objects
 * whose state holds static_kwargs, components and variables [(name, numpy array)]. Gs's variables are
 * renamed to the PyTorch state-dict names and re-laid out: dense weights transposed ([in, out] ->
 * [out, in]), conv weights [kh, kw, in, out] -> [out, in, kh, kw] (the upsampling conv is also flipped in
 * space, as TF's transposed conv runs the kernel mirrored), modulation biases + 1 (TF adds the 1 at run
 * time), const and noise with their leading batch axes dropped.
 */
import { CheckpointImportError } from './errors.js';
import type { ConfigObject } from './generator-config.js';
import type { TensorToStream } from './safetensors-writer.js';
import { toJson, type Json } from './state-dict.js';
import { tensorValues } from './pickle/tensor-data.js';
import { NdArray, PyDict, PyInstance, PyTuple, typeName, type PyValue } from './pickle/values.js';

export function isTensorFlowPickle(root: PyValue): root is PyTuple {
  return root instanceof PyTuple && root.items.length === 3 && root.items.every((n) => n instanceof PyInstance && n.cls.qualified === 'dnnlib.tflib.network.Network');
}

function networkState(net: PyValue, what: string): PyDict {
  if (!(net instanceof PyInstance) || !(net.state instanceof PyDict)) throw new CheckpointImportError(`${what} is not a TensorFlow Network with a state`);
  return net.state;
}

interface Variable {
  shape: number[];
  values(): Float32Array;
}

function collectVariables(net: PyValue, prefix: string, out: Map<string, Variable>, depth: number): void {
  if (depth > 8) throw new CheckpointImportError('TensorFlow network components nested deeper than 8');
  const state = networkState(net, prefix || 'Gs');
  const version = state.get('version');
  if (typeof version !== 'number' || version < 4) throw new CheckpointImportError(`TensorFlow network pickle version ${String(version)} is too old (4 or newer is needed)`);
  const vars = state.get('variables');
  if (!Array.isArray(vars)) throw new CheckpointImportError(`${prefix || 'Gs'}: variables is a ${typeName(vars)}`);
  for (const v of vars) {
    const [name, value] = v instanceof PyTuple ? v.items : [];
    if (typeof name !== 'string') throw new CheckpointImportError(`${prefix || 'Gs'}: a variable that is not a (name, value) pair`);
    if (value instanceof NdArray) out.set(prefix + name, { shape: value.shape, values: () => tensorValues(value, prefix + name).data });
    // TensorFlow returns scalar variables as numpy scalars, which arrive as plain numbers.
    else if (typeof value === 'number') out.set(prefix + name, { shape: [], values: () => Float32Array.of(value) });
    else throw new CheckpointImportError(`${prefix || 'Gs'}: variable '${name}' is a ${typeName(value)}, not an array`);
  }
  const comps = state.get('components');
  if (comps instanceof PyDict) for (const [k, c] of comps.map) collectVariables(c, `${prefix}${String(k)}/`, out, depth + 1);
}

/** Re-lays out values: output axis i is input axis perm[i]; axes in `flip` are reversed. */
function permute(data: Float32Array, shape: number[], perm: number[], flip: number[] = []): { shape: number[]; data: Float32Array } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array(outShape.length).fill(0);
  for (let n = 0; n < out.length; n++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) {
      const axis = perm[d];
      const i = flip.includes(axis) ? shape[axis] - 1 - idx[d] : idx[d];
      src += i * inStrides[axis];
    }
    out[n] = data[src];
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape: outShape, data: out };
}

interface Conversion {
  from: string;
  shape: (s: number[]) => number[];
  convert: (data: Float32Array, s: number[]) => Float32Array;
}

const same: Conversion['convert'] = (d) => d;
const dense = (from: string): Conversion => ({ from, shape: ([i, o]) => [o, i], convert: (d, s) => permute(d, s, [1, 0]).data });
const conv = (from: string, flipped = false): Conversion => ({
  from,
  shape: ([kh, kw, i, o]) => [o, i, kh, kw],
  convert: (d, s) => permute(d, s, [3, 2, 0, 1], flipped ? [0, 1] : []).data,
});
const copy = (from: string): Conversion => ({ from, shape: (s) => s, convert: same });
const plusOne = (from: string): Conversion => ({ from, shape: (s) => s, convert: (d) => d.map((x) => x + 1) });
const dropLeading = (from: string, n: number): Conversion => ({ from, shape: (s) => s.slice(n), convert: same });

export interface TensorFlowImport {
  config: ConfigObject;
  tensors: Map<string, TensorToStream>;
}

export function convertTensorFlowGenerator(root: PyTuple, name: string, domain: string | undefined, source: Record<string, Json>): TensorFlowImport {
  const Gs = root.items[2];
  const state = networkState(Gs, 'Gs');
  const kw = toJson(state.get('static_kwargs') ?? null);
  const kwargs: Record<string, Json> = kw && typeof kw === 'object' && !Array.isArray(kw) ? kw : {};
  const k = (key: string, fallback: Json): Json => (kwargs[key] ?? fallback);
  const labels = k('label_size', 0);
  if (typeof labels === 'number' && labels > 0) throw new CheckpointImportError(`conditional models (c_dim = ${labels}) are not supported`);
  if (k('architecture', 'skip') !== 'skip') throw new CheckpointImportError(`synthesis architecture '${String(k('architecture', ''))}' is not supported (only 'skip')`);
  const vars = new Map<string, Variable>();
  collectVariables(Gs, '', vars, 0);
  if ([...vars.keys()].some((n) => /ToRGB_lod\d+/.test(n))) throw new CheckpointImportError("synthesis architecture 'orig' (StyleGAN1-style ToRGB_lod layers) is not supported");
  const res = k('resolution', 1024) as number;
  const mappingLayers = k('mapping_layers', 8) as number;
  const plan = new Map<string, Conversion>();
  plan.set('mapping.w_avg', copy('dlatent_avg'));
  for (let i = 0; i < mappingLayers; i++) {
    plan.set(`mapping.fc${i}.weight`, dense(`mapping/Dense${i}/weight`));
    plan.set(`mapping.fc${i}.bias`, copy(`mapping/Dense${i}/bias`));
  }
  plan.set('synthesis.b4.const', dropLeading('synthesis/4x4/Const/const', 1));
  const channels: Record<string, number> = {};
  for (let r = 4; r <= res; r *= 2) {
    const s = `synthesis/${r}x${r}`;
    const log2 = Math.log2(r);
    const layers: Array<[string, string, number]> = r === 4 ? [['conv1', 'Conv', 0]] : [['conv0', 'Conv0_up', 2 * log2 - 5], ['conv1', 'Conv1', 2 * log2 - 4]];
    for (const [layer, tf, noise] of layers) {
      const p = `synthesis.b${r}.${layer}`;
      plan.set(`${p}.weight`, conv(`${s}/${tf}/weight`, tf === 'Conv0_up'));
      plan.set(`${p}.bias`, copy(`${s}/${tf}/bias`));
      plan.set(`${p}.noise_const`, dropLeading(`synthesis/noise${noise}`, 2));
      plan.set(`${p}.noise_strength`, copy(`${s}/${tf}/noise_strength`));
      plan.set(`${p}.affine.weight`, dense(`${s}/${tf}/mod_weight`));
      plan.set(`${p}.affine.bias`, plusOne(`${s}/${tf}/mod_bias`));
    }
    plan.set(`synthesis.b${r}.torgb.weight`, conv(`${s}/ToRGB/weight`));
    plan.set(`synthesis.b${r}.torgb.bias`, copy(`${s}/ToRGB/bias`));
    plan.set(`synthesis.b${r}.torgb.affine.weight`, dense(`${s}/ToRGB/mod_weight`));
    plan.set(`synthesis.b${r}.torgb.affine.bias`, plusOne(`${s}/ToRGB/mod_bias`));
  }
  const tensors = new Map<string, TensorToStream>();
  for (const [target, c] of plan) {
    const array = vars.get(c.from);
    if (!array) throw new CheckpointImportError(`the TensorFlow Gs has no variable '${c.from}' (needed for ${target})`);
    const shape = c.shape(array.shape);
    if (shape.some((d) => d === undefined)) throw new CheckpointImportError(`TensorFlow variable '${c.from}' has shape [${array.shape}], which does not fit ${target}`);
    tensors.set(target, { shape, values: () => c.convert(array.values(), array.shape) });
  }
  for (let r = 4; r <= res; r *= 2) channels[String(r)] = tensors.get(`synthesis.b${r}.conv1.weight`)!.shape[0];
  const z = vars.get('mapping/Dense0/weight')!.shape[0];
  const config: ConfigObject = {
    architecture: 'stylegan2-ada',
    name,
    ...(domain ? { domain } : {}),
    z_dim: z,
    w_dim: tensors.get('mapping.w_avg')!.shape[0],
    c_dim: 0,
    mapping_layers: mappingLayers,
    mapping_lr_multiplier: k('mapping_lrmul', 0.01),
    img_resolution: res,
    img_channels: 3,
    channels,
    conv_clamp: k('conv_clamp', null),
    num_fp16_res: k('num_fp16_res', 0),
    drag_block: res >= 128 ? 128 : res,
    truncation_psi: 0.7,
    source,
  };
  return { config, tensors };
}
