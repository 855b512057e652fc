/**
 * The models a studio offers, by id. Only the safetensors header is read here (the config's resolution,
 * for the UI and for mask sizes); the weights are loaded by the workers. The main thread never imports
 * the engine.
 */
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelInfo } from '../protocol/events.js';
import { presentedSize } from '../../engine/src/model/image-size.js';

export interface ModelEntry {
  id: string;
  label: string;
  /** A .safetensors file or a model directory holding model.safetensors. */
  path: string;
}

export interface ResolvedModel extends ModelInfo {
  path: string;
}

/** Reads `stabledrag.config` from a safetensors header without reading the tensors. */
export function readModelConfig(path: string): { img_resolution: number; img_width?: number; pad_to_square?: boolean; name?: string } {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'model.safetensors') : path;
  const fd = openSync(file, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len <= 0 || len > 100 * 1024 * 1024) throw new Error(`${file}: bad safetensors header length ${len}`);
    const header = Buffer.alloc(len);
    readSync(fd, header, 0, len, 8);
    const meta = JSON.parse(header.toString('utf8')).__metadata__ ?? {};
    const config = JSON.parse(meta['stabledrag.config'] ?? 'null');
    if (!config || typeof config.img_resolution !== 'number') throw new Error(`${file}: no stabledrag.config with img_resolution`);
    return config;
  } finally {
    closeSync(fd);
  }
}

export class ModelRegistry {
  private readonly models = new Map<string, ResolvedModel>();

  constructor(entries: ModelEntry[]) {
    for (const e of entries) {
      try {
        const config = readModelConfig(e.path);
        const { width, height } = presentedSize(config);
        this.models.set(e.id, { id: e.id, label: e.label, width, height, path: e.path });
      } catch (err) {
        // A missing model is reported and skipped: the studio still serves the others (and existing rooms' data).
        console.error(`[models] ${e.id} unavailable: ${(err as Error).message}`);
      }
    }
  }

  list(): ModelInfo[] {
    return [...this.models.values()].map(({ id, label, width, height }) => ({ id, label, width, height }));
  }

  get(id: string): ResolvedModel | undefined {
    return this.models.get(id);
  }
}
