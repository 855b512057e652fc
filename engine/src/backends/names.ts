/** The backend names, free of TensorFlow.js so the server's main thread can validate its settings. */
export type BackendName = 'wasm' | 'cpu' | 'tensorflow' | 'webgpu';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow', 'webgpu'];
