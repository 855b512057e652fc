/**
 * Diffusion model folders in the models directory scan, on real copies of the tiny diffusers fixture: a good
 * folder is offered with its kind, size (the UNet's sample_size x the VAE's factor), bytes and model card; each
 * broken one is listed unavailable with a reason naming the file, and the others stay offered.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelRegistry } from './model-registry.js';
import { REPO_ROOT } from '../config.js';

const FIXTURE = resolve(REPO_ROOT, 'tests/fixtures/diffusion/tiny');

describe('diffusion models in the models directory', () => {
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stabledrag-diffusion-registry-'));
    outside = mkdtempSync(join(tmpdir(), 'stabledrag-outside-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const copy = (id: string) => {
    cpSync(FIXTURE, join(dir, id), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') && !src.endsWith('prompts.json') });
    return join(dir, id);
  };
  const editJson = (file: string, edit: (j: Record<string, unknown>) => void) => {
    const j = JSON.parse(readFileSync(file, 'utf8'));
    edit(j);
    writeFileSync(file, JSON.stringify(j));
  };

  it('offers a good folder with its kind, size, bytes and model card, and reports each broken one by file', () => {
    copy('good');
    writeFileSync(join(copy('carded'), 'diffusion-model.json'), JSON.stringify({ format: 'stabledrag-diffusion', version: 1, name: 'Cats 16', prompt: 'a cat' }));
    rmSync(join(copy('novae'), 'vae'), { recursive: true });
    editJson(join(copy('huge'), 'unet/config.json'), (j) => (j.sample_size = 1024));
    editJson(join(copy('mismatch'), 'vae/config.json'), (j) => (j.latent_channels = 8));
    writeFileSync(join(copy('badcard'), 'diffusion-model.json'), JSON.stringify({ prompt: 42 }));
    const linked = copy('linked');
    cpSync(join(linked, 'text_encoder'), join(outside, 'text_encoder'), { recursive: true });
    rmSync(join(linked, 'text_encoder'), { recursive: true });
    symlinkSync(join(outside, 'text_encoder'), join(linked, 'text_encoder'));
    mkdirSync(join(dir, 'not-a-model'));

    const reg = new ModelRegistry({ modelsDir: dir }, { log: () => {} });
    const { models, unavailable } = reg.list();
    expect(models.map((m) => m.id).sort()).toEqual(['carded', 'good']);
    expect(models.find((m) => m.id === 'good')).toMatchObject({ kind: 'diffusion', architecture: 'diffusion', width: 16, height: 16, label: 'good' });
    expect(models.find((m) => m.id === 'good')!.fileBytes).toBeGreaterThan(800_000);
    expect(models.find((m) => m.id === 'carded')).toMatchObject({ label: 'Cats 16' });
    expect(reg.get('carded')!.prompt).toBe('a cat');
    expect(reg.get('good')!.prompt).toBe('');
    // The prompt stays on the server: the list clients get has no prompt.
    expect(models.every((m) => !('prompt' in m))).toBe(true);
    const reason = (id: string) => unavailable.find((u) => u.id === id)?.reason;
    expect(reason('novae')).toMatch(/vae\/config\.json is missing/);
    expect(reason('huge')).toMatch(/2048 px.*at most 1024/);
    expect(reason('mismatch')).toMatch(/8 latent channels do not fit the unet's 4/);
    expect(reason('badcard')).toMatch(/diffusion-model\.json: prompt must be a string/);
    expect(reason('linked')).toMatch(/text_encoder\/config\.json leads outside the model's folder/);
    expect(reason('not-a-model')).toBeUndefined();
  });
});
