/**
 * The GAN-vs-diffusion drag benchmark (docs/benchmarks.md, "Diffusion"): bench:drag's cases, each dragged by
 * the GAN methods on the bundled GAN and by the diffusion methods on its render, edited as a photo.
 *
 *   npm run bench:drag-diffusion -- --diffusion-model DIR [options]
 *     --cases N (8)  --from K (0)            cases K..K+N-1 of the case file
 *     --methods a,b                           of draggan, stabledrag, dragdiffusion, stabledrag-diff
 *                                             (default: all four; the GAN two without --diffusion-model)
 *     --max-steps N (200)  --image-every N (5)  --hit-radius PX (4)          GAN runs, as bench:drag
 *     --diffusion-size PX                     side the diffusion model edits at (default: its own size)
 *     --prompt TEXT ('')  --lora-steps N  --lora-batch N  --ddim-steps N  --diffusion-max-steps N
 *     --decode-every N                        diffusion runs (default: the engine's, DragDiffusion's)
 *     --diffusion-options JSON                any other engine options of the diffusion runs, e.g.
 *                                             '{"lr":0.003,"masaLayer":4}' (the flags above go over it)
 *                                             The model card's room settings (diffusion-model.json) come first,
 *                                             as a new room of the model starts with them; these go over them.
 *     --out results.json                      per-case results + metadata, rewritten after every run;
 *                                             an existing file is resumed (its case/method pairs are kept)
 *     --md report.md  --model PATH  --cases-file bench/cases.json  --backend wasm|cpu|webgpu|tensorflow
 *   npm run bench:drag-diffusion -- --report a.json,b.json [--md report.md]   merge result files, print tables
 */
import { existsSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { DiffusionSettings } from '../contract/diffusion-settings.js';
import { readDiffusionHeader } from '../server/rooms/diffusion-header.js';
import { parseArgs } from 'node:util';
import {
  defaultModelPath, EngineError, initBackend, roomSettingsToOptions, loadDiffusionDragModels, loadGenerator, loadLandmarkDetector, validateDiffusionDragRequest, type BackendName, type DiffusionDragOptionsInput,
} from '../engine/src/index.js';
import { checkCaseFile } from '../bench/cases.js';
import { runComparison } from '../bench/diffusion-bench.js';
import { DIFFUSION_METHODS, diffusionMethodSpecs } from '../bench/diffusion-methods.js';
import { diffusionReport } from '../bench/diffusion-summary.js';
import { modelFile, sha256File } from '../bench/generate.js';
import { METHODS, methodSpecs } from '../bench/methods.js';
import { DetectorFeatureDistance } from '../bench/perceptual.js';
import type { CaseResult } from '../bench/run-case.js';
import { nativeSize } from '../bench/run-diffusion-case.js';

const { values } = parseArgs({
  options: {
    'diffusion-model': { type: 'string' },
    'diffusion-size': { type: 'string' },
    prompt: { type: 'string' },
    'lora-steps': { type: 'string' },
    'lora-batch': { type: 'string' },
    'ddim-steps': { type: 'string' },
    'diffusion-max-steps': { type: 'string' },
    'decode-every': { type: 'string' },
    'diffusion-options': { type: 'string' },
    model: { type: 'string' },
    'cases-file': { type: 'string' },
    cases: { type: 'string' },
    from: { type: 'string' },
    methods: { type: 'string' },
    'max-steps': { type: 'string' },
    'image-every': { type: 'string' },
    'hit-radius': { type: 'string' },
    out: { type: 'string' },
    md: { type: 'string' },
    report: { type: 'string' },
    backend: { type: 'string' },
  },
});

function emit(text: string): void {
  console.log(text);
  if (values.md) writeFileSync(values.md, `${text}\n`);
}

interface ResultFile {
  meta: Record<string, unknown>;
  results: CaseResult[];
}

if (values.report) {
  const files = values.report.split(',').map((p) => JSON.parse(readFileSync(p.trim(), 'utf8')) as ResultFile);
  emit(diffusionReport(files.flatMap((r) => r.results)));
  process.exit(0);
}

/** A flag's whole-number value, or undefined when absent; anything else stops here. */
function int(flag: string): number | undefined {
  const v = values[flag as keyof typeof values];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a whole number, got ${String(v)}`);
  return n;
}

const methodNames = values.methods
  ? values.methods.split(',').map((s) => s.trim())
  : [...Object.keys(METHODS).filter((m) => m === 'draggan' || m === 'stabledrag'), ...(values['diffusion-model'] ? Object.keys(DIFFUSION_METHODS) : [])];
const ganMethods = methodSpecs(methodNames.filter((m) => !(m in DIFFUSION_METHODS)));
const diffusionMethods = diffusionMethodSpecs(methodNames.filter((m) => m in DIFFUSION_METHODS));
if (diffusionMethods.length && !values['diffusion-model']) throw new Error(`${diffusionMethods.map((m) => m.name).join(', ')} need --diffusion-model DIR`);

const backend = await initBackend({ backend: values.backend as BackendName | undefined });
const modelPath = modelFile(values.model ?? defaultModelPath());
const casesPath = values['cases-file'] ?? 'bench/cases.json';
const caseFile = checkCaseFile(JSON.parse(readFileSync(casesPath, 'utf8')), casesPath);
const modelSha = sha256File(modelPath);
if (modelSha !== caseFile.model.sha256) throw new Error(`${casesPath} was generated on another model than ${modelPath} (sha256 ${modelSha.slice(0, 12)}): regenerate with npm run bench:drag -- --generate`);
const gen = await loadGenerator(modelPath);
const detector = await loadLandmarkDetector();

const diffusion = values['diffusion-model'] ? loadDiffusionDragModels(values['diffusion-model']) : undefined;
const size = int('diffusion-size') ?? (diffusion ? nativeSize(diffusion) : 128);
/** --diffusion-options as an object (the engine checks its keys and values with the rest below). */
function extraOptions(): DiffusionDragOptionsInput {
  const text = values['diffusion-options'];
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`--diffusion-options must be a JSON object, got ${text}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`--diffusion-options must be a JSON object, got ${text}`);
  return parsed as DiffusionDragOptionsInput;
}
/**
 * The model card's room settings (diffusion-model.json's `settings`), as a new room of the model starts with
 * them, read and checked by the studio's own reader; {} without a card or settings. A card a room would refuse
 * stops here.
 */
function cardOptions(dir: string | undefined): { settings: Partial<DiffusionSettings>; options: DiffusionDragOptionsInput } {
  if (!dir) return { settings: {}, options: {} };
  const { settings } = readDiffusionHeader(realpathSync(dir));
  return { settings, options: roomSettingsToOptions(settings) };
}
const card = cardOptions(values['diffusion-model']);
const extra = extraOptions();
const diffusionOptions = {
  ...card.options,
  ...extra,
  ...(int('ddim-steps') !== undefined ? { ddimSteps: int('ddim-steps') } : {}),
  ...(int('diffusion-max-steps') !== undefined ? { maxSteps: int('diffusion-max-steps') } : {}),
  ...(int('decode-every') !== undefined ? { decodeEvery: int('decode-every') } : {}),
  lora: {
    ...card.options.lora,
    ...extra.lora,
    ...(int('lora-steps') !== undefined ? { steps: int('lora-steps') } : {}),
    ...(int('lora-batch') !== undefined ? { batch: int('lora-batch') } : {}),
  },
};
if (diffusion) {
  // The engine's own checks of the size and the options, before any case runs (a blank image stands in).
  try {
    validateDiffusionDragRequest(diffusion, { image: { width: size, height: size, data: new Uint8ClampedArray(size * size * 4) }, points: [{ handle: [0, 0], target: [1, 1] }], options: diffusionOptions });
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    console.error(`--diffusion-size / diffusion options: ${err.message}`);
    process.exit(2);
  }
}
const from = int('from') ?? 0;
const cases = caseFile.cases.slice(from, from + (int('cases') ?? 8));
const hitRadius = Number(values['hit-radius'] ?? 4);
const ganSettings = { maxSteps: int('max-steps') ?? 200, imageEvery: int('image-every') ?? 5, hitRadius, psi: caseFile.psi };
const diffusionSettings = { size, prompt: values.prompt ?? '', options: diffusionOptions, hitRadius };

const meta = {
  date: new Date().toISOString(),
  command: `npm run bench:drag-diffusion -- ${process.argv.slice(2).join(' ')}`.trim(),
  model: { file: modelPath, sha256: modelSha },
  diffusionModel: values['diffusion-model'] ? { dir: values['diffusion-model'], nativeSize: diffusion ? nativeSize(diffusion) : null, unetParameters: diffusion?.unet.parameterCount() ?? null } : null,
  casesFile: casesPath,
  caseRange: [from, from + cases.length],
  methods: [...ganMethods, ...diffusionMethods],
  ganSettings,
  diffusionSettings,
  cardSettings: card.settings,
  backend: backend.name,
  host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
};

let done: CaseResult[] = [];
if (values.out && existsSync(values.out)) {
  done = (JSON.parse(readFileSync(values.out, 'utf8')) as ResultFile).results;
  console.error(`resuming ${values.out}: ${done.length} results kept`);
}
const started = performance.now();
const write = (all: CaseResult[]) => {
  if (!values.out) return;
  // Written beside and renamed, so an interrupted write never loses the results so far.
  writeFileSync(`${values.out}.part`, JSON.stringify({ meta: { ...meta, loadavgNow: os.loadavg(), elapsedSeconds: (performance.now() - started) / 1000 }, results: all }, null, 1));
  renameSync(`${values.out}.part`, values.out);
};
console.error(`${cases.length} cases x ${meta.methods.map((m) => m.name).join(', ')}; diffusion at ${size} px; backend ${backend.name}`);
const results = await runComparison(
  { gen, detector, dfd: new DetectorFeatureDistance(), diffusion, ganMethods, diffusionMethods, ganSettings, diffusionSettings },
  cases,
  done,
  (r, all) => {
    console.error(`${r.caseId} ${r.length}/${r.count}/${r.masked ? 'mask' : 'no-mask'} ${r.method}: MD ${r.md.toFixed(2)} (from ${r.startDistance.toFixed(1)}) ${r.reason} ${r.steps} steps ${r.seconds.toFixed(1)} s PSNR ${r.psnr.toFixed(1)}${r.error ? ` error: ${r.error}` : ''}`);
    write(all);
  },
);
diffusion?.dispose();
emit(
  `GAN ${modelPath} (sha256 ${modelSha.slice(0, 12)}); diffusion ${values['diffusion-model'] ?? 'none'} at ${size} px; ${cases.length} cases; backend ${backend.name}; ` +
    `load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}; ${((performance.now() - started) / 60000).toFixed(1)} min.\n\n${diffusionReport(results)}`,
);
