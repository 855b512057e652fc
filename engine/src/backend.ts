/**
 * Chooses the TensorFlow.js backend once per process.
 *
 * Order: an explicit option, then STABLEDRAG_BACKEND, then `tensorflow` (tfjs-node-gpu, an optional
 * dependency that only installs on hosts that can download libtensorflow), then `webgpu` when Dawn finds a
 * hardware adapter and the engine can run on it (backends/webgpu.ts, WEBGPU_CHOSEN_AUTOMATICALLY), then `wasm`. `cpu` is never
 * chosen automatically: it is 25-50x slower than wasm and only meant for tiny tests and gradient checks.
 *
 * wasm runs XNNPACK on `threads` threads (option, else STABLEDRAG_THREADS, else the machine's parallelism up
 * to 4; a drag step's convolutions scale about linearly to 2). Under vitest the default is 1: test files run
 * in parallel workers that already share the cores, and pool threads spin while they wait for work.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { BackendError } from './errors.js';
import { probeWebGPU, registerWebGPU, WEBGPU_CHOSEN_AUTOMATICALLY } from './backends/webgpu.js';
import { activateThreadedWasm } from './wasm-threads.js';

import { BACKEND_NAMES, type BackendName } from './backends/names.js';
export { BACKEND_NAMES, type BackendName };

export interface BackendOptions {
  /** Force a backend. Default: STABLEDRAG_BACKEND, else tensorflow when it loads, else webgpu on a hardware adapter, else wasm. */
  backend?: BackendName;
  /** wasm only: XNNPACK threads. Default: STABLEDRAG_THREADS, else min(4, cores) (1 under vitest). */
  threads?: number;
  /** Log the choice (once per process) through this function. Default: console.error. */
  log?: (line: string) => void;
}

export interface BackendInfo {
  name: BackendName;
  reason: string;
  /** Threads the backend computes on (wasm: XNNPACK's pool; 1 for cpu; the library's own for tensorflow). */
  threads: number;
}

const MAX_DEFAULT_THREADS = 4;

function wantedThreads(option: number | undefined): number {
  const env = process.env.STABLEDRAG_THREADS;
  const value = option ?? (env !== undefined && env !== '' ? Number(env) : undefined);
  if (value !== undefined) {
    if (!Number.isInteger(value) || value < 1 || value > 64) {
      throw new BackendError(`threads must be an integer from 1 to 64, got ${option ?? JSON.stringify(env)}${option === undefined ? ' (STABLEDRAG_THREADS)' : ''}`);
    }
    return value;
  }
  if (process.env.VITEST) return 1;
  return Math.min(MAX_DEFAULT_THREADS, os.availableParallelism());
}

/** Threads of the wasm backend once it is initialised in this process (it cannot be changed afterwards). */
let wasmThreads: number | undefined;

let current: BackendInfo | undefined;

async function tryLoadTensorflow(): Promise<string | undefined> {
  try {
    // The package name is built at run time so bundlers and type checkers never require it.
    const pkg = ['@tensorflow', 'tfjs-node-gpu'].join('/');
    await import(pkg);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

function parseName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendError(`unknown backend '${value}' from ${source}; expected one of ${BACKEND_NAMES.join(', ')}`);
}

async function activate(name: BackendName, threads: number): Promise<number> {
  if (name === 'wasm') {
    if (wasmThreads === undefined && threads > 1) {
      wasmThreads = await activateThreadedWasm(threads);
    } else {
      await setBackend('wasm');
      wasmThreads ??= 1;
    }
    return wasmThreads;
  }
  if (name === 'tensorflow') {
    const failure = await tryLoadTensorflow();
    if (failure) throw new BackendError(`backend 'tensorflow' needs @tensorflow/tfjs-node-gpu, which failed to load: ${failure}`);
  }
  if (name === 'webgpu') {
    const probe = await probeWebGPU();
    if (!probe.ok) throw new BackendError(`backend 'webgpu' has no adapter: ${probe.reason}`);
    await registerWebGPU();
  }
  await setBackend(name);
  return 1;
}

async function setBackend(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendError(`backend '${name}' failed to initialise`);
  await tf.ready();
}

/** Initialise (or return) the process-wide backend. Switching to a different backend later is allowed. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? ((line: string) => console.error(line));
  let name: BackendName;
  let reason: string;
  if (options.backend) {
    name = parseName(options.backend, 'the backend option');
    reason = 'forced by option';
  } else if (process.env.STABLEDRAG_BACKEND) {
    name = parseName(process.env.STABLEDRAG_BACKEND, 'STABLEDRAG_BACKEND');
    reason = 'forced by STABLEDRAG_BACKEND';
  } else if (current) {
    return current;
  } else {
    const failure = await tryLoadTensorflow();
    name = failure ? 'wasm' : 'tensorflow';
    reason = failure ? 'default (tfjs-node-gpu not available)' : '@tensorflow/tfjs-node-gpu loaded';
    if (failure) {
      // A software adapter is never chosen by itself: on a CPU, wasm is faster.
      const probe = WEBGPU_CHOSEN_AUTOMATICALLY ? await probeWebGPU() : undefined;
      if (probe?.ok && !probe.adapter.software) [name, reason] = ['webgpu', `hardware adapter ${probe.adapter.description || probe.adapter.vendor}`];
      else {
        const why = !probe ? 'not chosen automatically' : probe.ok ? `only the software adapter ${probe.adapter.description}` : probe.reason;
        reason = `default (tfjs-node-gpu not available; webgpu: ${why})`;
      }
    }
  }
  if (current?.name === name && tf.getBackend() === name) return current;
  const threads = await activate(name, wantedThreads(options.threads));
  // Log only when the backend changes, so a process logs its choice once however often it asks.
  if (current?.name !== name) log(`[stabledrag] backend ${name}${name === 'wasm' ? ` (${threads} thread${threads > 1 ? 's' : ''})` : ''}: ${reason}`);
  current = { name, reason, threads };
  return current;
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}
