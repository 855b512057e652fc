/**
 * Loads tfjs-backend-wasm's threaded SIMD build (XNNPACK with a pthread pool) in Node.
 *
 * The package ships that build but turns it off in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is false
 * there, tfjs issue 3830), and its loader hands the Emscripten pthread workers their scripts as Blob URLs,
 * which Node's Worker cannot open. Node itself runs the build fine once the scripts are real files, so this
 * module, only for the duration of `tf.setBackend('wasm')`:
 * - records the text of the Blobs the loader creates and serves them from a temporary directory (the main
 *   script gets the module-level names the bundle's factory refers to: fs, path, perf_hooks, os and the
 *   global object);
 * - reports 2 x `threads` CPUs to the module, because the C++ side sizes its XNNPACK pool as half the
 *   logical cores ("two hyperthreads per core") and ignores the count tfjs passes in Node.
 * Afterwards Emscripten's process-wide error handlers are removed, and the pool's idle pre-spawned workers (Emscripten starts 8) are terminated and the running ones
 * unref'd, so they cost no memory and never keep the process alive.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface PThreadPool {
  unusedWorkers: Array<{ terminate(): void }>;
  runningWorkers: Array<{ unref(): void }>;
}

const MAIN_SCRIPT_PREFIX = 'var WasmBackendModuleThreadedSimd';
const MAIN_SCRIPT_GLOBALS =
  "var commonjsGlobal=globalThis,_scriptDir=undefined,require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os');";
const WORKER_IMPORT = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}';

/** Activates the wasm backend with `threads` XNNPACK threads (>= 2). Returns the count the backend reports. */
export async function activateThreadedWasm(threads: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stabledrag-wasm-'));
  const texts = new WeakMap<Blob, string>();
  const mainFile = path.join(dir, 'main.js');
  const OriginalBlob = globalThis.Blob;
  const originalCreate = URL.createObjectURL;
  const originalCpus = os.cpus;
  globalThis.Blob = class extends OriginalBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      const text = (parts ?? []).map((p) => (typeof p === 'string' ? p : '')).join('');
      texts.set(this, text);
      if (text.startsWith(MAIN_SCRIPT_PREFIX)) writeFileSync(mainFile, MAIN_SCRIPT_GLOBALS + text);
    }
  };
  URL.createObjectURL = (blob: Blob) => {
    const text = texts.get(blob);
    if (text === undefined) return originalCreate(blob);
    if (!text.includes(WORKER_IMPORT)) throw new Error('tfjs-backend-wasm worker script changed: the threaded loader needs updating');
    const file = path.join(dir, 'worker.js');
    writeFileSync(file, text.replace(WORKER_IMPORT, `if(true){importScripts(${JSON.stringify(mainFile)})}`));
    return file;
  };
  const cpu = originalCpus()[0];
  os.cpus = () => Array.from({ length: 2 * threads }, () => cpu);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  tfwasm.setThreadsCount(threads);
  const listening = { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error("backend 'wasm' (threaded) failed to initialise");
    await tf.ready();
  } finally {
    globalThis.Blob = OriginalBlob;
    URL.createObjectURL = originalCreate;
    os.cpus = originalCpus;
    // Emscripten's Node glue installs handlers that rethrow every uncaught error, printing its minified
    // source instead of the error; the process's own handling (or Node's default) is what we want.
    for (const l of process.listeners('uncaughtException')) if (!listening.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!listening.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  }
  const pool = (tf.backend() as unknown as { wasm: { PThread?: PThreadPool } }).wasm.PThread;
  if (pool) {
    for (const w of pool.unusedWorkers) w.terminate();
    pool.unusedWorkers.length = 0;
    for (const w of pool.runningWorkers) w.unref();
  }
  // The workers have read their scripts by now (the pool is running).
  rmSync(dir, { recursive: true, force: true });
  return tfwasm.getThreadsCount();
}
