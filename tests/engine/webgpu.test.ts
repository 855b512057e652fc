// The webgpu backend (Dawn in Node) against wasm, on a real WebGPU adapter: in CI the software Vulkan
// driver that scripts/software-vulkan.sh unpacks (Mesa lavapipe), on a GPU machine its own driver.
// Each check runs in a child process, because the driver's library path must be set when a process starts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { softwareVulkanEnv } from '../../engine/src/backends/software-vulkan.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const driverEnv = softwareVulkanEnv();
const systemLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some(existsSync);
const available = driverEnv !== undefined || systemLoader;
// CI installs the driver (.ci/run), so there a missing adapter is a failure, not a reason to skip.
const required = Boolean(process.env.CI) || process.env.STABLEDRAG_REQUIRE_WEBGPU === '1';
const missing = 'no WebGPU adapter: the software Vulkan driver is not installed (run: bash scripts/software-vulkan.sh)';

async function child(script: string, args: string[] = []): Promise<Record<string, any>> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      env: { ...process.env, ...driverEnv, STABLEDRAG_BACKEND: '' },
      maxBuffer: 16 << 20,
      timeout: 110_000,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // Dawn's own warnings fill stderr; the engine's error is the last line that is not one of them.
    const lines = (e.stderr ?? '').split('\n').filter((l) => l.trim() && !/^\s*at |^Warning:/.test(l));
    throw new Error(`${script} failed: ${lines.slice(-4).join(' | ') || e.message}`);
  }
}

if (!available && !required) console.warn(`[webgpu.test] skipped: ${missing}`);

describe.skipIf(!available && !required)('webgpu backend on a real adapter', () => {
  it('has an adapter to run on', () => {
    expect(available, missing).toBe(true);
  });

  it('matches wasm within 1e-3 on the forward pass, the feature tap, the gradient and a 20-step drag', async () => {
    const report = await child('scripts/webgpu-parity.ts', ['--steps', '20']);
    expect(report.candidate).toBe('webgpu');
    expect(report.adapter.description.length).toBeGreaterThan(0);
    for (const key of ['forward', 'features', 'gradient', 'dragLatent']) expect(report[key].relative, key).toBeLessThan(1e-3);
    expect(report.forward.maxAbs).toBeLessThan(1e-3);
    expect(report.dragLatent.maxAbs).toBeLessThan(1e-3);
    expect(report.dragSteps).toBe(20);
    expect(report.dragHandleMismatches).toBe(0);
  }, 120_000);

  it('runs a diffusion drag (two updates, mask term and tracking) like wasm within 1e-3 and frees its tensors', async () => {
    const r = await child('tests/engine/webgpu-diffusion-child.ts');
    expect(r.backend).toBe('webgpu');
    expect(r.losses.webgpu).toHaveLength(3);
    expect(r.moved).toBeGreaterThan(1e-3);
    for (const key of ['loss', 'latent', 'clean']) expect(r[key].relative, key).toBeLessThan(1e-3);
    expect(r.latent.maxAbs).toBeLessThan(1e-3 * r.moved);
    expect(r.handleMismatches).toBe(0);
    expect(r.leaked).toEqual({ wasm: 0, webgpu: 0 });
    expect(r.cleanAhead).toBeLessThan(1e-6);
  }, 120_000);

  it('names a synchronous read and a lost device, and reports GPU memory', async () => {
    const r = await child('tests/engine/webgpu-device-child.ts');
    expect(r.sum).toBe(128 * 128 * 128);
    expect(r.syncRead?.code).toBe('backend-sync-read');
    expect(r.numBytesInGPU).toBeGreaterThan(0);
    expect(r.lostMessage).toMatch(/GPU device was lost \(destroyed/);
    expect(r.afterLoss?.code).toBe('device-lost');
    expect(r.asyncAfterLoss?.code).toBe('device-lost');
  }, 120_000);

  it('runs a pool with a backend per worker: wasm and webgpu render the same seed, webgpu reports its GPU memory', async () => {
    const r = await child('tests/engine/webgpu-pool-child.ts');
    expect(r.results[0]).toMatchObject({ ok: true, width: 32, height: 32 });
    expect(r.results[0].gpuBytes).toBeUndefined();
    expect(r.results[1]).toMatchObject({ ok: true, width: 32, height: 32 });
    expect(r.results[1].gpuBytes).toBeGreaterThan(0);
    expect(r.latentMaxDiff).toBeLessThan(1e-4);
  }, 120_000);
});
