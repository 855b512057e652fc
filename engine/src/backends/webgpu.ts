/**
 * TensorFlow.js on WebGPU in Node: Google's Dawn (npm `webgpu`) under @tensorflow/tfjs-backend-webgpu.
 *
 * Both packages are optional dependencies and are imported only when this backend is asked for or probed,
 * so a machine without them (or without any GPU driver) never loads them. The engine registers the backend
 * itself instead of relying on the package's import-time registration: it then owns the GPUDevice, can
 * report the adapter it runs on, and can tell callers when the device is lost.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';

/**
 * Whether initBackend picks webgpu by itself on a hardware adapter (never on a software one: wasm is faster
 * on a CPU). What a drag worker and the CLI do reads with awaited reads (the drag step, latentFromSeedAsync,
 * renderImageAsync); the synchronous forms (ImageGenerator.render, mapping, latentFromSeed, renderImage,
 * readFeatures) end with SyncReadError on webgpu.
 */
export const WEBGPU_CHOSEN_AUTOMATICALLY = true;

/** Whether the active backend can read tensors synchronously (dataSync); webgpu in Node cannot. */
export function backendReadsSynchronously(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/** What the adapter says about itself, and whether it is a software (CPU) implementation. */
export interface WebGPUAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, llvmpipe, SwiftShader): correct but slower than wasm. */
  software: boolean;
}

export type WebGPUProbe = { ok: true; adapter: WebGPUAdapterInfo } | { ok: false; reason: string };

/** The GPU device under the webgpu backend went away (driver reset, device.destroy(), GPU removed). */
export class DeviceLostError extends EngineError {
  constructor(message: string) {
    super('device-lost', message);
  }
}

/** GPUAdapter as Dawn has it: the `info` attribute is newer than the @webgpu/types tfjs depends on. */
type Adapter = GPUAdapter & { readonly info: GPUAdapterInfo & { isFallbackAdapter?: boolean } };
/**
 * A synchronous read (dataSync, arraySync) of GPU data on the webgpu backend. WebGPU has no blocking read
 * and Dawn in Node only completes a buffer mapping from the event loop, so only `await tensor.data()` works.
 */
export class SyncReadError extends EngineError {
  constructor() {
    super(
      'backend-sync-read',
      'the webgpu backend cannot read GPU data synchronously in Node (dataSync/arraySync); this engine path needs an awaited data() read',
    );
  }
}

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

let gpu: GPU | undefined;
let device: GPUDevice | undefined;
let adapterInfo: WebGPUAdapterInfo | undefined;
let lost: { reason: string; message: string } | undefined;
const lostListeners = new Set<(err: DeviceLostError) => void>();

/** Dawn flags (`create(flags)`), e.g. `backend=vulkan` or `adapter=NVIDIA`; comma-separated in STABLEDRAG_WEBGPU_FLAGS. */
function dawnFlags(): string[] {
  return (process.env.STABLEDRAG_WEBGPU_FLAGS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * On Linux Dawn reaches GPUs through the Vulkan loader. Looking for it first keeps a machine without one
 * from loading Dawn (21 MB) and printing its own warnings just to learn there is no adapter.
 */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux' || dawnFlags().length > 0) return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/aarch64-linux-gnu',
    '/usr/lib64', '/lib64', '/usr/lib', '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

function isSoftware(info: { architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  const text = `${info.architecture ?? ''} ${info.description ?? ''} ${info.device ?? ''}`;
  return /software|llvmpipe|lavapipe|swiftshader|softpipe|\bcpu\b/i.test(text);
}

async function dawn(): Promise<GPU> {
  if (gpu) return gpu;
  // Dawn's Vulkan and GL paths need a runtime directory; a private one is enough for compute.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'stabledrag-xdg-'));
  let mod: DawnModule;
  try {
    const name = ['web', 'gpu'].join(''); // built at run time: an optional dependency that may be absent
    mod = (await import(name)) as DawnModule;
  } catch (err) {
    throw new EngineError('backend-unavailable', `the npm package 'webgpu' (Dawn for Node) is not installed or does not load here: ${(err as Error).message.split('\n')[0]}`);
  }
  gpu = mod.create(dawnFlags());
  // tfjs-backend-webgpu looks for navigator.gpu; Node 21+ has a read-only navigator, hence defineProperty.
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
  const nav = (g.navigator as Record<string, unknown> | undefined) ?? {};
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  if (g.navigator !== nav) Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  return gpu;
}

async function requestAdapter(): Promise<Adapter | null> {
  return (await (await dawn()).requestAdapter({ powerPreference: 'high-performance' })) as Adapter | null;
}

function describeAdapter(adapter: Adapter): WebGPUAdapterInfo {
  const info = adapter.info;
  const out = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
  return { ...out, software: isSoftware(info) };
}

/** Is there a WebGPU adapter, and which? Never throws; loads Dawn only when a Vulkan loader exists (Linux). */
export async function probeWebGPU(): Promise<WebGPUProbe> {
  if (adapterInfo) return { ok: true, adapter: adapterInfo };
  if (!vulkanLoaderPresent()) return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1) on this machine' };
  try {
    const adapter = await requestAdapter();
    if (!adapter) return { ok: false, reason: 'Dawn found no WebGPU adapter (no Vulkan driver for a GPU?)' };
    return { ok: true, adapter: describeAdapter(adapter) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message.split('\n')[0] };
  }
}

/**
 * Registers the `webgpu` TensorFlow.js backend on the adapter Dawn prefers. Call before
 * tf.setBackend('webgpu'); repeated calls are no-ops. Throws EngineError('backend-unavailable') when no
 * adapter or package is there.
 */
export async function registerWebGPU(): Promise<void> {
  if (tf.findBackendFactory('webgpu')) return;
  await dawn();
  // A CommonJS package: Node's loader exposes its named exports, a bundler may only give `default`.
  const mod = (await import('@tensorflow/tfjs-backend-webgpu')) as typeof import('@tensorflow/tfjs-backend-webgpu') & { default?: typeof import('@tensorflow/tfjs-backend-webgpu') };
  const WebGPUBackend = mod.WebGPUBackend ?? mod.default!.WebGPUBackend;
  // The package registered itself on import when navigator.gpu was already set; ours replaces it.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => {
    const adapter = await requestAdapter();
    if (!adapter) throw new EngineError('backend-unavailable', 'Dawn found no WebGPU adapter');
    const limits = adapter.limits;
    // The same features and limits the package asks for: its kernels size workgroups and buffers by them.
    const features = (['timestamp-query', 'bgra8unorm-storage'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
    device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: {
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    adapterInfo = describeAdapter(adapter);
    lost = undefined;
    const mine = device;
    void mine.lost.then((info) => {
      if (device !== mine) return;
      lost = { reason: info.reason, message: info.message };
      const err = deviceLostError();
      for (const fn of lostListeners) fn(err);
    });
    const backend = new WebGPUBackend(device, adapter.info);
    // The package reads synchronously through an OffscreenCanvas, which Node lacks; a cached CPU copy
    // (after an awaited data()) still reads. Anything else fails by name rather than as a ReferenceError.
    const readSync = backend.readSync.bind(backend);
    backend.readSync = (dataId: object) => {
      assertDeviceAlive();
      try {
        return readSync(dataId);
      } catch (err) {
        if (err instanceof ReferenceError && /OffscreenCanvas/.test(err.message)) throw new SyncReadError();
        throw err;
      }
    };
    // A read on a lost device rejects with a bare AbortError; name the cause instead.
    const read = backend.read.bind(backend);
    backend.read = async (dataId: object) => {
      assertDeviceAlive();
      try {
        return await read(dataId);
      } catch (err) {
        assertDeviceAlive();
        throw err;
      }
    };
    return backend;
  }, 0);
}

function deviceLostError(): DeviceLostError {
  return new DeviceLostError(`the GPU device was lost (${lost?.reason ?? 'unknown'}${lost?.message ? `: ${lost.message}` : ''}); the worker must restart to use the GPU again`);
}

/** The adapter the webgpu backend runs on, once initialised. */
export function webgpuAdapter(): WebGPUAdapterInfo | undefined {
  return adapterInfo;
}

/** The live GPUDevice of the webgpu backend (for health checks and tests that destroy it). */
export function webgpuDevice(): GPUDevice | undefined {
  return device;
}

/** Throws DeviceLostError when the device is gone (WebGPU reports errors on a lost device nowhere else). */
export function assertDeviceAlive(): void {
  if (lost) throw deviceLostError();
}

/** Calls `fn` once the device is lost. Returns an unsubscribe function. */
export function onDeviceLost(fn: (err: DeviceLostError) => void): () => void {
  lostListeners.add(fn);
  if (lost) fn(deviceLostError());
  return () => lostListeners.delete(fn);
}
