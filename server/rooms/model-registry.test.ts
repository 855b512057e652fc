/**
 * The models directory scan on real files in a temp directory: good models are offered with their size from
 * the header, every kind of broken or misplaced file is listed unavailable with a reason that says what is
 * wrong, and rescans follow models that are added, removed or replaced.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MODEL_FILE, ModelRegistry, RESCAN_MIN_INTERVAL_MS } from './model-registry.js';
import { MAX_HEADER_BYTES, readModelHeader } from './model-header.js';
import { parseModelsDir, REPO_ROOT } from '../config.js';

const TINY = resolve(REPO_ROOT, 'tests/fixtures/parity/model.safetensors');
const BUNDLED = resolve(REPO_ROOT, 'models/faces128/model.safetensors');

/** The tiny fixture with its header changed by `edit` (tensor bytes untouched). */
function withHeader(edit: (header: Record<string, unknown>) => void): Buffer {
  const bytes = readFileSync(TINY);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8'));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([out, json, bytes.subarray(8 + len)]);
}

function editConfig(edit: (config: Record<string, unknown>) => void): Buffer {
  return withHeader((h) => {
    const meta = h.__metadata__ as Record<string, string>;
    const config = JSON.parse(meta['stabledrag.config']);
    edit(config);
    meta['stabledrag.config'] = JSON.stringify(config);
  });
}

describe('models directory', () => {
  let dir: string;
  let outside: string;
  let logs: string[];
  const put = (id: string, bytes: Buffer | string) => {
    mkdirSync(join(dir, id), { recursive: true });
    writeFileSync(join(dir, id, MODEL_FILE), bytes);
  };
  const registry = () => new ModelRegistry({ modelsDir: dir }, { log: (l) => logs.push(l) });
  const reasons = (r: ModelRegistry) => Object.fromEntries(r.list().unavailable.map((u) => [u.id, u.reason]));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stabledrag-models-'));
    outside = mkdtempSync(join(tmpdir(), 'stabledrag-outside-'));
    logs = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('offers an empty directory as no models, without complaint', () => {
    const r = registry();
    expect(r.list()).toEqual({ models: [], unavailable: [], lpips: false });
    expect(logs.filter((l) => l.includes('unavailable'))).toEqual([]);
  });

  it('describes good models from their headers and reports every broken one by name with its reason', () => {
    put('tiny', readFileSync(TINY));
    mkdirSync(join(dir, 'faces'));
    copyFileSync(BUNDLED, join(dir, 'faces', MODEL_FILE));
    put('broken-json', (() => {
      const b = readFileSync(TINY);
      b.write('{{{{', 8);
      return b;
    })());
    put('a-pickle', Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cnumpy\ncore\n'.repeat(20))]));
    put('truncated', readFileSync(TINY).subarray(0, 100_000));
    put('bad-config', editConfig((c) => (c.img_channels = 4)));
    put('wordy', editConfig((c) => Object.assign(c, { name: 'n'.repeat(5000), domain: 'cats\u0000\n'.repeat(100) })));
    put('no-config', withHeader((h) => (h.__metadata__ = {})));
    put('config-not-json', withHeader((h) => ((h.__metadata__ as Record<string, string>)['stabledrag.config'] = '{nope')));
    put('huge-header', (() => {
      const b = Buffer.alloc(64);
      b.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES) + 1n);
      return b;
    })());
    put('tiny-file', 'abc');
    put('trailing', Buffer.concat([readFileSync(TINY), Buffer.alloc(16)]));
    // A directory where the file should be.
    mkdirSync(join(dir, 'not-a-file', MODEL_FILE), { recursive: true });
    // Links: out of the directory (refused), to nothing (refused), to another model inside (fine).
    mkdirSync(join(dir, 'escape'));
    symlinkSync(TINY, join(dir, 'escape', MODEL_FILE));
    copyFileSync(TINY, join(outside, MODEL_FILE));
    symlinkSync(outside, join(dir, 'escape-dir'));
    mkdirSync(join(dir, 'dangling'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling', MODEL_FILE));
    mkdirSync(join(dir, 'alias'));
    symlinkSync(join(dir, 'tiny', MODEL_FILE), join(dir, 'alias', MODEL_FILE));
    // Not models: a directory without model.safetensors, a hidden one, a text file. Misplaced: loose model files.
    mkdirSync(join(dir, 'landmarks'));
    writeFileSync(join(dir, 'landmarks', 'x.bin'), 'x');
    mkdirSync(join(dir, '.cache'));
    writeFileSync(join(dir, '.cache', MODEL_FILE), 'x');
    writeFileSync(join(dir, 'README.txt'), 'models go here');
    writeFileSync(join(dir, 'ffhq.pkl'), 'x');
    writeFileSync(join(dir, 'cats.safetensors'), 'x');
    put('bad id!', readFileSync(TINY));
    put('evil\n[models] fake line', readFileSync(TINY));

    const r = registry();
    const { models } = r.list();
    expect(models.map((m) => m.id).sort()).toEqual(['alias', 'faces', 'tiny', 'wordy']);
    // Free text from a config is bounded and cleaned before it reaches clients.
    const wordy = models.find((m) => m.id === 'wordy')!;
    expect(wordy.label).toHaveLength(80);
    expect(wordy.domain!.length).toBeLessThanOrEqual(40);
    expect(wordy.domain).not.toMatch(/[\u0000\n]/);
    const faces = models.find((m) => m.id === 'faces')!;
    expect(faces).toEqual({ id: 'faces', label: 'faces128', width: 128, height: 128, domain: 'faces', kind: 'gan', architecture: 'stylegan2-ada', fileBytes: readFileSync(BUNDLED).length });
    expect(models.find((m) => m.id === 'tiny')).toMatchObject({ width: 32, height: 32, fileBytes: readFileSync(TINY).length });

    const why = reasons(r);
    expect(Object.keys(why).sort()).toEqual(
      ['a-pickle', '"bad id!"', '"evil\\n[models] fake line"', 'bad-config', 'broken-json', 'cats.safetensors', 'config-not-json', 'dangling', 'escape', 'escape-dir', 'ffhq.pkl', 'huge-header', 'no-config', 'not-a-file', 'tiny-file', 'trailing', 'truncated'].sort(),
    );
    expect(why['broken-json']).toMatch(/header is not JSON/);
    expect(why['a-pickle']).toMatch(/not a safetensors file: its header length \d+ is outside/);
    expect(why['truncated']).toMatch(/truncated/);
    expect(why['bad-config']).toMatch(/img_channels/);
    expect(why['no-config']).toMatch(/no 'stabledrag.config' entry/);
    expect(why['config-not-json']).toMatch(/config in the metadata is not valid JSON/);
    expect(why['huge-header']).toMatch(/header length \d+ is outside/);
    expect(why['tiny-file']).toMatch(/too short/);
    expect(why['trailing']).toMatch(/16 bytes beyond the tensors/);
    expect(why['not-a-file']).toMatch(/not a regular file/);
    expect(why['escape']).toMatch(/outside the models directory/);
    expect(why['escape-dir']).toMatch(/outside the models directory/);
    expect(why['dangling']).toMatch(/symbolic link to nothing/);
    expect(why['ffhq.pkl']).toMatch(/stabledrag import ffhq.pkl/);
    expect(why['cats.safetensors']).toMatch(/move it to <models dir>\/cats\/model.safetensors/);
    expect(why['"bad id!"']).toMatch(/not a valid model id/);
    // A name that could forge log lines is shown quoted, on one line.
    expect(logs.filter((l) => l.startsWith('[models] fake line'))).toEqual([]);
    // One line per unavailable model per scan, naming it and its reason.
    for (const [id, reason] of Object.entries(why)) expect(logs.filter((l) => l === `[models] ${id} unavailable: ${reason}`)).toHaveLength(1);
    // Broken models cannot be used, and say why.
    expect(r.get('truncated')).toBeUndefined();
    expect(r.unavailableReason('truncated')).toMatch(/truncated/);
    expect(r.unavailableReason('never-heard-of')).toBe('it is not installed');
  });

  it('rescans: a model added is offered, a removed one listed unavailable, a replaced one re-described', async () => {
    put('tiny', readFileSync(TINY));
    const r = registry();
    expect(r.list().models.map((m) => m.id)).toEqual(['tiny']);
    const before = r.get('tiny')!;

    put('second', readFileSync(TINY));
    rmSync(join(dir, 'tiny'), { recursive: true });
    await new Promise((ok) => setTimeout(ok, RESCAN_MIN_INTERVAL_MS));
    r.rescan();
    expect(r.list().models.map((m) => m.id)).toEqual(['second']);
    expect(reasons(r)).toEqual({ tiny: 'it was removed from the models directory' });
    // A room of the removed model keeps its size.
    expect(r.lastKnown('tiny')).toMatchObject({ width: 32, height: 32 });

    put('tiny', editConfig((c) => (c.name = 'tiny-v2')));
    utimesSync(join(dir, 'tiny', MODEL_FILE), new Date(), new Date(Date.now() + 5000));
    await new Promise((ok) => setTimeout(ok, RESCAN_MIN_INTERVAL_MS));
    r.rescan();
    const after = r.get('tiny')!;
    expect(after.label).toBe('tiny-v2');
    expect(after.identity).not.toBe(before.identity);
    expect(reasons(r)).toEqual({});
  });

  it('coalesces rescans asked for within a second into the last scan', () => {
    const r = registry();
    put('tiny', readFileSync(TINY));
    r.rescan();
    expect(r.list().models).toEqual([]);
  });

  it('offers fixed entries (files or model directories) and reports a missing one', () => {
    const r = new ModelRegistry(
      { models: [{ id: 'file', label: 'A file', path: TINY }, { id: 'dir', path: resolve(REPO_ROOT, 'models/faces128') }, { id: 'gone', path: join(dir, 'gone.safetensors') }] },
      { log: (l) => logs.push(l) },
    );
    expect(r.list().models.map((m) => [m.id, m.label, m.width])).toEqual([['file', 'A file', 32], ['dir', 'faces128', 128]]);
    expect(reasons(r).gone).toMatch(/gone.safetensors is missing/);
  });

  it('reads only the header: a model whose tensors are unreadable garbage is still described', () => {
    const b = readFileSync(TINY);
    const len = Number(b.readBigUInt64LE(0));
    b.fill(0xff, 8 + len);
    put('garbage-weights', b);
    expect(readModelHeader(join(dir, 'garbage-weights', MODEL_FILE)).config.name).toBe('parity-tiny');
  });

  it('keeps TensorFlow.js out of the main thread', () => {
    const script = `await import(${JSON.stringify(resolve(REPO_ROOT, 'server/rooms/model-registry.ts'))}); console.log('_tfengine' in globalThis ? 'tf' : 'no-tf');`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(out.trim()).toBe('no-tf');
  });
});

describe('STABLEDRAG_MODELS', () => {
  it('defaults to the repository models directory', () => {
    expect(parseModelsDir(undefined)).toBe(join(REPO_ROOT, 'models'));
  });

  it('refuses the old id=path list, saying what to do instead', () => {
    expect(() => parseModelsDir('faces=models/faces128/model.safetensors')).toThrow(/is a directory now, not a list of id=path: put each model in <dir>\/<id>\/model.safetensors/);
  });

  it('refuses a path that is not a directory', () => {
    expect(() => parseModelsDir(TINY)).toThrow(/is not a directory/);
  });
});
