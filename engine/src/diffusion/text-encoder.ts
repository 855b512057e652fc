/**
 * CLIP's text transformer (transformers' CLIPTextModel) in TF.js: token and position embeddings, pre-LayerNorm
 * layers of causal multi-head self-attention and an MLP (quick_gelu for SD 1.x's OpenAI CLIP, gelu for
 * OpenCLIP), and the final LayerNorm. Its last hidden state is the UNet's cross-attention context.
 */
import * as tf from '@tensorflow/tfjs';
import { Linear, LayerNorm, attention, gelu } from './layers.js';
import type { ConfigReader } from './config-reader.js';
import { DiffusionInputError } from './errors.js';
import type { Weights } from './weights.js';

export interface TextEncoderConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  maxPositions: number;
  act: 'quick_gelu' | 'gelu';
  layerNormEps: number;
}

export function readTextEncoderConfig(r: ConfigReader): TextEncoderConfig {
  const config: TextEncoderConfig = {
    vocabSize: r.int('vocab_size', 1, 1_000_000, 49408),
    hiddenSize: r.int('hidden_size', 1, 8192, 512),
    intermediateSize: r.int('intermediate_size', 1, 32768, 2048),
    layers: r.int('num_hidden_layers', 1, 64, 12),
    heads: r.int('num_attention_heads', 1, 256, 8),
    maxPositions: r.int('max_position_embeddings', 1, 4096, 77),
    act: r.oneOf('hidden_act', ['quick_gelu', 'gelu'] as const, 'quick_gelu'),
    layerNormEps: r.number('layer_norm_eps', 1e-12, 0.1, 1e-5),
  };
  if (config.hiddenSize % config.heads !== 0) throw r.error(`hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.heads}`);
  return config;
}

interface EncoderLayer {
  norm1: LayerNorm;
  q: Linear;
  k: Linear;
  v: Linear;
  out: Linear;
  norm2: LayerNorm;
  fc1: Linear;
  fc2: Linear;
}

export class ClipTextEncoder {
  private readonly tokenEmbedding: tf.Tensor2D;
  private readonly positionEmbedding: tf.Tensor2D;
  private readonly layers: EncoderLayer[] = [];
  private readonly finalNorm: LayerNorm;

  constructor(
    readonly config: TextEncoderConfig,
    private readonly weights: Weights,
  ) {
    const c = config;
    const ws = weights;
    const d = c.hiddenSize;
    this.tokenEmbedding = ws.table('text_model.embeddings.token_embedding.weight', c.vocabSize, d);
    this.positionEmbedding = ws.table('text_model.embeddings.position_embedding.weight', c.maxPositions, d);
    for (let i = 0; i < c.layers; i++) {
      const p = `text_model.encoder.layers.${i}`;
      this.layers.push({
        norm1: new LayerNorm(ws, `${p}.layer_norm1`, d, c.layerNormEps),
        q: new Linear(ws, `${p}.self_attn.q_proj`, d, d),
        k: new Linear(ws, `${p}.self_attn.k_proj`, d, d),
        v: new Linear(ws, `${p}.self_attn.v_proj`, d, d),
        out: new Linear(ws, `${p}.self_attn.out_proj`, d, d),
        norm2: new LayerNorm(ws, `${p}.layer_norm2`, d, c.layerNormEps),
        fc1: new Linear(ws, `${p}.mlp.fc1`, d, c.intermediateSize),
        fc2: new Linear(ws, `${p}.mlp.fc2`, c.intermediateSize, d),
      });
    }
    this.finalNorm = new LayerNorm(ws, 'text_model.final_layer_norm', d, c.layerNormEps);
  }

  /** ids: B rows of token ids, all the same length -> the last hidden state [B, length, hidden_size]. */
  encode(ids: number[][]): tf.Tensor3D {
    const n = ids[0]?.length ?? 0;
    if (ids.length === 0 || n === 0 || ids.some((row) => row.length !== n)) throw new DiffusionInputError('token ids must be non-empty rows of one length');
    if (n > this.config.maxPositions) throw new DiffusionInputError(`${n} tokens; this text encoder takes at most ${this.config.maxPositions}`);
    const bad = ids.flat().find((t) => !Number.isInteger(t) || t < 0 || t >= this.config.vocabSize);
    if (bad !== undefined) throw new DiffusionInputError(`token id ${bad} is outside this text encoder's vocabulary of ${this.config.vocabSize}`);
    return tf.tidy(() => {
      const tokens = tf.gather(this.tokenEmbedding, tf.tensor2d(ids, [ids.length, n], 'int32'));
      let x = tf.add(tokens, tf.slice(this.positionEmbedding, [0, 0], [n, -1])) as tf.Tensor3D;
      // Causal mask: a token attends to itself and the tokens before it.
      const mask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([n, n]), -1, 0)), -1e9) as tf.Tensor2D;
      for (const l of this.layers) {
        const h = l.norm1.apply(x);
        x = tf.add(x, l.out.apply(attention(l.q.apply(h), l.k.apply(h), l.v.apply(h), this.config.heads, mask)));
        const m = l.fc1.apply(l.norm2.apply(x));
        const act = this.config.act === 'quick_gelu' ? tf.mul(m, tf.sigmoid(tf.mul(m, 1.702))) : gelu(m);
        x = tf.add(x, l.fc2.apply(act));
      }
      return this.finalNorm.apply(x);
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}
