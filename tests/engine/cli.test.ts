// The command line, run as a user runs it (npx stabledrag ...), on the tiny parity model.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readPng } from '../../engine/src/io/png.js';

const run = promisify(execFile);
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const model = new URL('../fixtures/parity/', import.meta.url).pathname;

describe('stabledrag CLI', () => {
  it('samples a grid of seeds and drags with frames', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-cli-'));
    const grid = path.join(dir, 'grid.png');
    await run('node', [bin, 'sample', '--model', model, '--seeds', '0-5', '--columns', '3', '--grid', grid]);
    const g = readPng(grid);
    expect([g.width, g.height]).toEqual([96, 64]);

    const out = path.join(dir, 'out.png');
    const frames = path.join(dir, 'frames');
    const { stderr } = await run('node', [bin, 'drag', '--model', model, '--seed', '3', '--points', '10,16->20,16', '--max-steps', '4', '--out', out, '--frames', frames]);
    expect(existsSync(out)).toBe(true);
    expect(readdirSync(frames)).toHaveLength(5);
    expect(stderr).toMatch(/step +4\/4/);
    expect(stderr).toMatch(/max-steps after 4 steps/);
    // A drag that cannot move (the smallest lr) ends as stalled after --stall-steps steps without progress.
    const stalled = await run('node', [bin, 'drag', '--model', model, '--seed', '3', '--points', '10,16->20,16', '--lr', '0.000001', '--stall-steps', '3', '--max-steps', '50', '--out', out]);
    expect(stalled.stderr).toMatch(/stalled after 3 steps/);
  });

  it('fails with a clear message and exit code 1 on bad input', async () => {
    const err = await run('node', [bin, 'drag', '--model', model, '--seed', '3', '--points', '99,16->20,16', '--out', '/tmp/x.png']).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/error \(invalid-drag-input\): points\[0\]\.handle \(99, 16\) is outside the 32x32 image/);
    const missing = await run('node', [bin, 'info', '--model', '/nonexistent']).catch((e) => e);
    expect(missing.stderr).toMatch(/error \(model-load-failed\): model not found/);
  });
});
