// A diffusers-layout folder is user input: each way it can be wrong is refused at load with a message that
// names the file (and tensor or field), and a failed load leaves no tensors behind.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../engine/src/io/safetensors.js';
import {
  ClipTokenizer,
  DDIMScheduler,
  DiffusionInputError,
  initBackend,
  LatentError,
  loadDDIMConfig,
  loadDiffusionFolder,
  ModelLoadError,
  type DiffusionPart,
} from '../../engine/src/index.js';

const TINY = path.join(__dirname, '..', 'fixtures', 'diffusion', 'tiny');
let scratch: string;

/** A copy of the tiny folder with one change applied. */
function variant(change: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(scratch, 'v-'));
  fs.cpSync(TINY, dir, { recursive: true });
  change(dir);
  return dir;
}

function editConfig(dir: string, part: string, edit: (c: Record<string, unknown>) => void): void {
  const file = path.join(dir, part, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
}

function editTensors(dir: string, rel: string, edit: (t: Map<string, { shape: number[]; data: Float32Array; dtype: 'F32' | 'F16' }>) => void): void {
  const file = path.join(dir, rel);
  const parsed = parseSafetensors(new Uint8Array(fs.readFileSync(file)));
  const tensors = new Map([...parsed.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data, dtype: v.dtype }]));
  edit(tensors);
  fs.writeFileSync(file, serializeSafetensors(tensors));
}

function refused(dir: string, parts: DiffusionPart[], message: RegExp): void {
  const before = tf.memory().numTensors;
  expect(() => loadDiffusionFolder(dir, parts)).toThrow(ModelLoadError);
  expect(() => loadDiffusionFolder(dir, parts)).toThrow(message);
  expect(tf.memory().numTensors).toBe(before);
}

describe('loading a diffusers folder refuses bad input with the reason', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'diffusion-folder-'));
  }, 60_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('a path that is not a folder', () => {
    refused(path.join(scratch, 'nope'), ['unet'], /is not a folder/);
  });

  it('a missing part names the file', () => {
    refused(variant((d) => fs.rmSync(path.join(d, 'vae'), { recursive: true })), ['vae'], /vae\/config\.json is missing/);
    refused(variant((d) => fs.rmSync(path.join(d, 'unet', 'diffusion_pytorch_model.safetensors'))), ['unet'], /unet\/diffusion_pytorch_model\.safetensors is missing/);
    refused(variant((d) => fs.rmSync(path.join(d, 'tokenizer', 'merges.txt'))), ['tokenizer'], /merges\.txt is missing/);
  });

  it('invalid JSON and non-object configs', () => {
    refused(variant((d) => fs.writeFileSync(path.join(d, 'unet', 'config.json'), '{"block_out_channels": [16,')), ['unet'], /unet\/config\.json is not valid JSON/);
    refused(variant((d) => fs.writeFileSync(path.join(d, 'vae', 'config.json'), '[1, 2]')), ['vae'], /not a JSON object/);
  });

  it("SD 2.x's linear projections, SDXL's added embeddings and unknown blocks are named and refused", () => {
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.use_linear_projection = true))), ['unet'], /use_linear_projection.*SD 2\.x's linear projections/);
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.addition_embed_type = 'text_time'))), ['unet'], /addition_embed_type.*SDXL/);
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.down_block_types = ['SimpleCrossAttnDownBlock2D', 'DownBlock2D']))), ['unet'], /SimpleCrossAttnDownBlock2D.*not an SD 1\.x block/);
    refused(variant((d) => editConfig(d, 'vae', (c) => (c.up_block_types = ['UpDecoderBlock2D', 'AttnUpDecoderBlock2D']))), ['vae'], /AttnUpDecoderBlock2D/);
    refused(variant((d) => editConfig(d, 'text_encoder', (c) => (c.hidden_act = 'relu'))), ['text_encoder'], /hidden_act.*quick_gelu/);
  });

  it("a scheduler config the DDIM scheduler cannot follow", () => {
    const dir = variant((d) => {
      const file = path.join(d, 'scheduler', 'scheduler_config.json');
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), prediction_type: 'v_prediction' }));
    });
    expect(() => loadDDIMConfig(dir)).toThrow(/prediction_type.*v-prediction/);
    expect(() => new DDIMScheduler(0)).toThrow(DiffusionInputError);
    expect(() => new DDIMScheduler(50).stepsFor(1.5)).toThrow(/strength must be in \(0, 1\]/);
    expect(new DDIMScheduler(50).stepsFor(0.7)).toBe(35);
  });

  it('out-of-bounds and wrongly typed values', () => {
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.layers_per_block = 1e9))), ['unet'], /layers_per_block' must be an integer in \[1, 8\]/);
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.block_out_channels = '16,32'))), ['unet'], /block_out_channels' must be a list/);
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.norm_num_groups = 5))), ['unet'], /not a multiple of norm_num_groups/);
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.attention_head_dim = 3))), ['unet'], /attention heads/);
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.down_block_types = ['CrossAttnDownBlock2D']))), ['unet'], /down_block_types' must be a list of 2-2/);
    refused(variant((d) => editConfig(d, 'text_encoder', (c) => (c.num_attention_heads = 5))), ['text_encoder'], /not a multiple of num_attention_heads/);
    refused(variant((d) => editConfig(d, 'vae', (c) => (c.norm_eps = 'x', c.latent_channels = -4))), ['vae'], /latent_channels/);
  });

  it('tensors that do not match the config name the tensor', () => {
    refused(variant((d) => editConfig(d, 'unet', (c) => (c.cross_attention_dim = 64))), ['unet'], /attn2\.to_k\.weight' has shape \[16,32\], its config\.json implies \[16,64\]/);
    refused(
      variant((d) => editTensors(d, 'vae/diffusion_pytorch_model.safetensors', (t) => t.delete('decoder.conv_out.bias'))),
      ['vae'],
      /vae\/diffusion_pytorch_model\.safetensors has no tensor 'decoder\.conv_out\.bias'/,
    );
    refused(variant((d) => fs.writeFileSync(path.join(d, 'text_encoder', 'model.safetensors'), new Uint8Array(12))), ['text_encoder'], /text_encoder\/model\.safetensors: header is not valid JSON/);
  });

  it('parts that do not fit together', () => {
    refused(
      variant((d) => {
        editConfig(d, 'text_encoder', (c) => (c.max_position_embeddings = 40));
        editTensors(d, 'text_encoder/model.safetensors', (t) => {
          const p = t.get('text_model.embeddings.position_embedding.weight')!;
          t.set('text_model.embeddings.position_embedding.weight', { ...p, shape: [40, 32], data: p.data.slice(0, 40 * 32) });
        });
      }),
      ['text_encoder', 'tokenizer'],
      /takes 40 positions, fewer than the tokenizer's 77/,
    );
  });

  it('a broken tokenizer is refused', () => {
    expect(() => ClipTokenizer.fromFiles('{"a": -1}', '')).toThrow(/not a non-negative integer/);
    expect(() => ClipTokenizer.fromFiles('{"a</w>": 0}', '')).toThrow(/lacks <\|startoftext\|>/);
    expect(() => ClipTokenizer.fromFiles('{"<|startoftext|>": 0, "<|endoftext|>": 1}', 'a b c\n')).toThrow(/line 1 is not two symbols/);
  });

  it("old checkpoints' VAE attention names (query/key/value/proj_attn, as 1x1 convs) load and decode the same", async () => {
    const legacy = variant((d) =>
      editTensors(d, 'vae/diffusion_pytorch_model.safetensors', (t) => {
        const names: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
        for (const [name, v] of [...t]) {
          const m = /^(.*\.attentions\.0\.)(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(name);
          if (!m) continue;
          t.delete(name);
          t.set(`${m[1]}${names[m[2]]}.${m[3]}`, m[3] === 'weight' ? { ...v, shape: [...v.shape, 1, 1] } : v);
        }
      }),
    );
    const a = loadDiffusionFolder(TINY, ['vae']);
    const b = loadDiffusionFolder(legacy, ['vae']);
    const latent = tf.randomNormal([1, 4, 4, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const [x, y] = [a.vae!.decode(latent), b.vae!.decode(latent)];
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
    tf.dispose([latent, x, y]);
    a.dispose();
    b.dispose();
  });

  it('bad inputs to loaded models are refused without running', () => {
    const m = loadDiffusionFolder(TINY);
    try {
      expect(() => m.tokenizer!.encode('x'.repeat(20_000))).toThrow(DiffusionInputError);
      expect(m.tokenizer!.encode('x '.repeat(200)).length).toBe(77);
      expect(() => m.textEncoder!.encode([[0, 1, 99999]])).toThrow(/outside this text encoder's vocabulary/);
      expect(() => m.textEncoder!.encode([[0, 1], [0]])).toThrow(DiffusionInputError);
      expect(() => m.textEncoder!.encode([new Array(78).fill(0)])).toThrow(/at most 77/);
      const ctx = tf.zeros([1, 77, 32]) as tf.Tensor3D;
      const t = tf.tensor1d([10]);
      const odd = tf.zeros([1, 5, 6, 4]) as tf.Tensor4D;
      const threeCh = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
      const oddImage = tf.zeros([1, 5, 6, 3]) as tf.Tensor4D;
      expect(() => m.unet!.apply(odd, t, ctx)).toThrow(LatentError);
      expect(() => m.unet!.apply(threeCh, t, ctx)).toThrow(/3 channels/);
      expect(() => m.vae!.encodeMean(oddImage)).toThrow(/multiples of 2/);
      expect(() => m.vae!.decode(threeCh)).toThrow(LatentError);
      tf.dispose([ctx, t, odd, threeCh, oddImage]);
    } finally {
      m.dispose();
    }
  });
});
