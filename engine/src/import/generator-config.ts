/**
 * Decides what a PyTorch-era G_ema is (StyleGAN2-ADA, StyleGAN-Human's non-square variant, StyleGAN3 -T
 * or -R) from its state dict and init kwargs, and writes the engine's config for it (docs/model-format.md).
 * The tensor shapes are the truth; kwargs fill in what shapes cannot say (clamping, fp16 layers, SG3's
 * filter design constants). Models the engine cannot run are refused with the reason.
 */
import { CheckpointImportError } from './errors.js';
import { submodule, toJson, type Json } from './state-dict.js';
import { PersistentRecord, PyDict, type TorchTensor } from './pickle/values.js';

export type ConfigObject = Record<string, Json>;

function kwargsOf(record: PersistentRecord): Record<string, Json> {
  const k = record.state.get('_init_kwargs');
  const json = k instanceof PyDict ? toJson(k) : {};
  return json && typeof json === 'object' && !Array.isArray(json) ? json : {};
}

function attr(record: PersistentRecord | undefined, name: string): Json | undefined {
  const v = record?.state.get(name);
  return v === undefined ? undefined : toJson(v);
}

/** Looks a kwarg up at the top level and in the nested kwargs dicts the training scripts use. */
function kwarg(kwargs: Record<string, Json>, name: string, nested: string[] = []): Json | undefined {
  if (kwargs[name] !== undefined) return kwargs[name];
  for (const n of nested) {
    const sub = kwargs[n];
    if (sub && typeof sub === 'object' && !Array.isArray(sub) && sub[name] !== undefined) return sub[name];
  }
  return undefined;
}

function shapeOf(tensors: Map<string, TorchTensor>, name: string): number[] {
  const t = tensors.get(name);
  if (!t) throw new CheckpointImportError(`G_ema has no tensor '${name}'`);
  return t.shape;
}

function num(v: Json | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

export interface ConfigInput {
  G: PersistentRecord;
  tensors: Map<string, TorchTensor>;
  name: string;
  domain?: string;
  source: Record<string, Json>;
}

export function generatorConfig({ G, tensors, name, domain, source }: ConfigInput): ConfigObject {
  const kwargs = kwargsOf(G);
  const cDim = num(kwargs.c_dim, tensors.has('mapping.embed.weight') ? shapeOf(tensors, 'mapping.embed.weight')[1] : 0);
  if (cDim > 0 || tensors.has('mapping.embed.weight')) throw new CheckpointImportError(`conditional models (c_dim = ${cDim}) are not supported`);
  const fc0 = shapeOf(tensors, 'mapping.fc0.weight');
  let mappingLayers = 0;
  while (tensors.has(`mapping.fc${mappingLayers}.weight`)) mappingLayers++;
  const wDim = shapeOf(tensors, 'mapping.w_avg')[0];
  const imgChannels = num(kwargs.img_channels, 3);
  if (imgChannels !== 3) throw new CheckpointImportError(`models with ${imgChannels} image channels are not supported (RGB only)`);
  const common: ConfigObject = {
    name,
    ...(domain ? { domain } : {}),
    z_dim: fc0[1],
    w_dim: wDim,
    c_dim: 0,
    mapping_layers: mappingLayers,
    mapping_lr_multiplier: num(attr(submodule(G, 'mapping.fc0'), 'bias_gain'), num(kwarg(kwargs, 'lr_multiplier', ['mapping_kwargs']), 0.01)),
    img_channels: 3,
    truncation_psi: 0.7,
  };
  const isSG3 = tensors.has('synthesis.input.weight');
  return isSG3 ? { architecture: 'stylegan3', ...common, ...sg3Config(G, tensors, kwargs), source } : { architecture: 'stylegan2-ada', ...common, ...sg2Config(G, tensors, kwargs), source };
}

function sg2Config(G: PersistentRecord, tensors: Map<string, TorchTensor>, kwargs: Record<string, Json>): ConfigObject {
  const blocks: number[] = [];
  for (let r = 4; tensors.has(`synthesis.b${r}.conv1.weight`); r *= 2) blocks.push(r);
  if (blocks.length === 0) throw new CheckpointImportError('G_ema has neither StyleGAN2 synthesis blocks (synthesis.b4...) nor StyleGAN3 layers (synthesis.input...)');
  const res = blocks[blocks.length - 1];
  const declared = kwargs.img_resolution;
  if (typeof declared === 'number' && declared !== res) throw new CheckpointImportError(`G_ema's init kwargs say img_resolution ${declared} but its blocks end at b${res}`);
  const architecture = kwarg(kwargs, 'architecture', ['synthesis_kwargs']) ?? 'skip';
  const hasSkip = [...tensors.keys()].some((k) => /^synthesis\.b\d+\.skip\./.test(k));
  const missingRgb = blocks.some((r) => !tensors.has(`synthesis.b${r}.torgb.weight`));
  if (architecture !== 'skip' || hasSkip || missingRgb) {
    throw new CheckpointImportError(`synthesis architecture '${hasSkip ? 'resnet' : missingRgb ? 'orig' : String(architecture)}' is not supported (only 'skip', which every released StyleGAN2 uses)`);
  }
  const channels: Record<string, number> = {};
  for (const r of blocks) channels[String(r)] = shapeOf(tensors, `synthesis.b${r}.conv1.weight`)[0];
  const [, constH, constW] = shapeOf(tensors, 'synthesis.b4.const');
  const width = (res * constW) / constH;
  const conv1 = submodule(G, 'synthesis.b4.conv1');
  const clamp = attr(conv1, 'conv_clamp') ?? kwarg(kwargs, 'conv_clamp', ['synthesis_kwargs']) ?? null;
  return {
    img_resolution: res,
    ...(width !== res ? { img_width: width } : {}),
    channels,
    conv_clamp: typeof clamp === 'number' ? clamp : null,
    num_fp16_res: num(kwarg(kwargs, 'num_fp16_res', ['synthesis_kwargs']), 0),
    // DragGAN drives every StyleGAN2 of 128 px or more from the 6th synthesis block (b128).
    drag_block: res >= 128 ? 128 : res,
  };
}

const SG3_DEFAULTS = {
  num_layers: 14, num_critical: 2, first_cutoff: 2, first_stopband: 2 ** 2.1, last_stopband_rel: 2 ** 0.3,
  margin_size: 10, output_scale: 0.25, filter_size: 6, lrelu_upsampling: 2,
} as const;

function sg3Config(G: PersistentRecord, tensors: Map<string, TorchTensor>, kwargs: Record<string, Json>): ConfigObject {
  const layerNames = [...new Set([...tensors.keys()].map((k) => /^synthesis\.(L\d+_\d+_\d+)\./.exec(k)?.[1]).filter((x): x is string => !!x))];
  layerNames.sort((a, b) => Number(a.slice(1).split('_')[0]) - Number(b.slice(1).split('_')[0]));
  layerNames.forEach((n, i) => {
    if (!n.startsWith(`L${i}_`)) throw new CheckpointImportError(`StyleGAN3 layer ${i} is missing (found ${n})`);
  });
  const numLayers = layerNames.length - 1;
  const declared = kwarg(kwargs, 'num_layers', ['synthesis_kwargs']);
  if (numLayers < 1 || (typeof declared === 'number' && declared !== numLayers)) {
    throw new CheckpointImportError(`G_ema has ${layerNames.length} StyleGAN3 layers, its init kwargs say num_layers ${String(declared)}`);
  }
  const last = layerNames[numLayers].split('_');
  const res = Number(last[1]);
  if (typeof kwargs.img_resolution === 'number' && kwargs.img_resolution !== res) {
    throw new CheckpointImportError(`G_ema's init kwargs say img_resolution ${kwargs.img_resolution} but its last layer is ${layerNames[numLayers]}`);
  }
  const need = (name: string): number => {
    const v = kwarg(kwargs, name, ['synthesis_kwargs']);
    if (typeof v !== 'number') throw new CheckpointImportError(`StyleGAN3 G_ema's init kwargs have no '${name}'`);
    return v;
  };
  const fromKwargs = Object.fromEntries(Object.entries(SG3_DEFAULTS).map(([k, d]) => [k, num(kwarg(kwargs, k, ['synthesis_kwargs', 'layer_kwargs']), d)]));
  const radialKwarg = kwarg(kwargs, 'use_radial_filters', ['synthesis_kwargs']);
  const radial = typeof radialKwarg === 'boolean' ? radialKwarg : layerNames.some((n) => tensors.get(`synthesis.${n}.down_filter`)?.shape.length === 2);
  const clamp = attr(submodule(G, `synthesis.${layerNames[0]}`), 'conv_clamp') ?? kwarg(kwargs, 'conv_clamp', ['synthesis_kwargs']) ?? null;
  return {
    img_resolution: res,
    conv_clamp: typeof clamp === 'number' ? clamp : null,
    num_fp16_res: num(kwarg(kwargs, 'num_fp16_res', ['synthesis_kwargs']), 4),
    channel_base: need('channel_base'),
    channel_max: need('channel_max'),
    ...fromKwargs,
    num_layers: numLayers,
    conv_kernel: shapeOf(tensors, `synthesis.${layerNames[0]}.weight`)[3],
    use_radial_filters: radial,
    // DragGAN reads StyleGAN3 features after layer 5.
    drag_layer: 5,
  };
}
