/**
 * Chooses the TensorFlow.js backend once per process.
 *
 * Order: an explicit option, then STABLEDRAG_BACKEND, then `tensorflow` (tfjs-node-gpu, an optional
 * dependency that only installs on hosts that can download libtensorflow), then `webgpu` when Dawn finds a
 * hardware adapter and the engine can run on it (backends/webgpu.ts, WEBGPU_CHOSEN_AUTOMATICALLY), then `wasm`. `cpu` is never
 * chosen automatically: it is 25-50x slower than wasm and only meant for tiny tests and gradient checks.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from './errors.js';
import { probeWebGPU, registerWebGPU, WEBGPU_CHOSEN_AUTOMATICALLY } from './backends/webgpu.js';

import { BACKEND_NAMES, type BackendName } from './backends/names.js';
export { BACKEND_NAMES, type BackendName };

export interface BackendOptions {
  /** Force a backend. Default: STABLEDRAG_BACKEND, else tensorflow when it loads, else webgpu on a hardware adapter, else wasm. */
  backend?: BackendName;
  /** Log the choice (once per process) through this function. Default: console.error. */
  log?: (line: string) => void;
}

export interface BackendInfo {
  name: BackendName;
  reason: string;
}

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

async function activate(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    const failure = await tryLoadTensorflow();
    if (failure) throw new BackendError(`backend 'tensorflow' needs @tensorflow/tfjs-node-gpu, which failed to load: ${failure}`);
  }
  if (name === 'webgpu') {
    const probe = await probeWebGPU();
    if (!probe.ok) throw new BackendError(`backend 'webgpu' has no adapter: ${probe.reason}`);
    await registerWebGPU();
  }
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
  await activate(name);
  // Log only when the backend changes, so a process logs its choice once however often it asks.
  if (current?.name !== name) log(`[stabledrag] backend ${name}: ${reason}`);
  current = { name, reason };
  return current;
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}
