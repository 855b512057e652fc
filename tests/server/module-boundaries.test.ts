/**
 * The folders' boundaries (docs/architecture.md): contract/ is bundled into the app and imports nothing outside
 * itself but Yjs; the engine reaches outside engine/ only for the run, inversion and diffusion settings schemas; the app reaches the server
 * only through contract/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|tsx|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** Every import specifier in `folder`, relative ones resolved to repo paths: [file, target]. */
function imports(folder: string): [string, string][] {
  const out: [string, string][] = [];
  for (const file of sources(join(ROOT, folder))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      const target = spec.startsWith('.') ? relative(ROOT, resolve(dirname(file), spec)) : `package:${spec}`;
      out.push([relative(ROOT, file), target]);
    }
  }
  return out;
}

describe('module boundaries', () => {
  it('contract/ imports only itself and Yjs (the app bundles it; no extensions, no Node APIs)', () => {
    const outside = imports('contract').filter(([file, t]) => !t.startsWith('contract/') && t !== 'package:yjs' && t !== 'package:vitest' && !(file.endsWith('.test.ts') && t.startsWith('training/')));
    expect(outside).toEqual([]);
  });

  it('the engine reaches outside engine/ only for the run, inversion and diffusion settings schemas (its tests may use the training fixtures)', () => {
    const outside = imports('engine').filter(([file, t]) => !t.startsWith('engine/') && !t.startsWith('package:') && !file.endsWith('.test.ts'));
    expect(new Set(outside.map(([, t]) => t))).toEqual(new Set(['contract/run-settings.js', 'contract/invert-settings.js', 'contract/diffusion-settings.js']));
  });

  it('the app reaches the server only through contract/', () => {
    expect(imports('app').filter(([, t]) => t.startsWith('server/') || t.startsWith('engine/'))).toEqual([]);
  });
});
