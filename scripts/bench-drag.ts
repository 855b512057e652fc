/**
 * The drag benchmark (docs/benchmarks.md).
 *
 *   npm run bench:drag [-- options]                run cases x methods, print markdown tables
 *     --quick                     16 cases (2 per category), --max-steps 60
 *     --cases N  --from K         cases K..K+N-1 of the case file (prefixes stay category-balanced)
 *     --methods a,b               of draggan, stabledrag, tracker-only, enhancement-only (default: all four)
 *     --max-steps N (200)  --image-every N (5)  --hit-radius PX (4)
 *     --sweep "tracker.alpha=0,0.5,2;enhancement.threshold=0.4,0.8" [--sweep-mode oat|grid] [--sweep-base M]
 *     --out results.json          per-case results + run metadata (rewritten after every case)
 *     --md report.md              also write the tables to a file
 *     --model PATH  --cases-file bench/cases.json  --backend wasm|cpu|tensorflow  --allow-model-mismatch
 *   npm run bench:drag -- --generate [--count 128] [--master-seed 2024] [--model PATH] [--cases-file F]
 *   npm run bench:drag -- --report a.json,b.json [--md report.md]   merge result files, print tables
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { defaultModelPath, initBackend, loadGenerator, loadLandmarkDetector, defaultDetectorPath, type BackendName } from '../engine/src/index.js';
import { checkCaseFile, defaultPlanOptions, type CaseFile } from '../bench/cases.js';
import { formatCaseFile, generateCaseFile, modelFile, sha256File, trainingInfo } from '../bench/generate.js';
import { DEFAULT_METHODS, methodSpecs, sweepSpecs, type MethodSpec } from '../bench/methods.js';
import { DetectorFeatureDistance } from '../bench/perceptual.js';
import { runCase, type CaseResult } from '../bench/run-case.js';
import { report } from '../bench/summary.js';

const { values } = parseArgs({
  options: {
    generate: { type: 'boolean' },
    count: { type: 'string' },
    'master-seed': { type: 'string' },
    model: { type: 'string' },
    'cases-file': { type: 'string' },
    cases: { type: 'string' },
    from: { type: 'string' },
    quick: { type: 'boolean' },
    methods: { type: 'string' },
    'max-steps': { type: 'string' },
    'image-every': { type: 'string' },
    'hit-radius': { type: 'string' },
    sweep: { type: 'string' },
    'sweep-mode': { type: 'string' },
    'sweep-base': { type: 'string' },
    out: { type: 'string' },
    md: { type: 'string' },
    report: { type: 'string' },
    backend: { type: 'string' },
    'allow-model-mismatch': { type: 'boolean' },
  },
});

const casesPath = values['cases-file'] ?? 'bench/cases.json';
const int = (v: string | undefined, d: number) => (v === undefined ? d : Number.parseInt(v, 10));

interface ResultFile {
  meta: Record<string, unknown>;
  results: CaseResult[];
}

function emit(text: string): void {
  console.log(text);
  if (values.md) writeFileSync(values.md, `${text}\n`);
}

if (values.report) {
  const files = values.report.split(',').map((p) => JSON.parse(readFileSync(p.trim(), 'utf8')) as ResultFile);
  emit(report(files.flatMap((r) => r.results)));
  process.exit(0);
}

const backend = await initBackend({ backend: values.backend as BackendName | undefined });
const modelArg = values.model ?? defaultModelPath();
if (!existsSync(modelArg)) {
  console.error(`model not found: ${modelArg}\n(until the trained model exists: npx tsx engine/cli/main.ts random-model --out /tmp/stand-in, then --model /tmp/stand-in)`);
  process.exit(2);
}
const modelPath = modelFile(modelArg);
const gen = await loadGenerator(modelPath);
const detector = await loadLandmarkDetector();

if (values.generate) {
  const options = { ...defaultPlanOptions(gen.height), count: int(values.count, 128), masterSeed: int(values['master-seed'], 2024) };
  const t = performance.now();
  const file = generateCaseFile(gen, detector, { model: modelPath, detector: defaultDetectorPath() }, options);
  writeFileSync(casesPath, formatCaseFile(file));
  console.error(`wrote ${file.cases.length} cases to ${casesPath} in ${((performance.now() - t) / 1000).toFixed(1)} s (model sha256 ${file.model.sha256.slice(0, 12)})`);
  process.exit(0);
}

const caseFile: CaseFile = checkCaseFile(JSON.parse(readFileSync(casesPath, 'utf8')), casesPath);
const modelSha = sha256File(modelPath);
if (modelSha !== caseFile.model.sha256) {
  const msg = `${casesPath} was generated on a model with sha256 ${caseFile.model.sha256.slice(0, 12)}, but ${modelPath} has ${modelSha.slice(0, 12)}: its handles are not on this model's landmarks. Regenerate: npm run bench:drag -- --generate --model ${modelArg}`;
  if (!values['allow-model-mismatch']) {
    console.error(msg);
    process.exit(2);
  }
  console.error(`warning: ${msg}`);
}

const quick = values.quick ?? false;
const from = int(values.from, 0);
const count = int(values.cases, quick ? 16 : caseFile.cases.length);
const cases = caseFile.cases.slice(from, from + count);
const settings = {
  maxSteps: int(values['max-steps'], quick ? 60 : 200),
  imageEvery: int(values['image-every'], 5),
  hitRadius: Number(values['hit-radius'] ?? 4),
  psi: caseFile.psi,
};
const methods: MethodSpec[] = values.sweep
  ? sweepSpecs(values.sweep, (values['sweep-mode'] as 'oat' | 'grid') ?? 'oat', values['sweep-base'] ?? 'stabledrag')
  : methodSpecs(values.methods ? values.methods.split(',').map((s) => s.trim()) : DEFAULT_METHODS);

const meta = {
  date: new Date().toISOString(),
  command: `npm run bench:drag -- ${process.argv.slice(2).join(' ')}`.trim(),
  model: { file: modelPath, sha256: modelSha, training: trainingInfo(gen) ?? null },
  casesFile: casesPath,
  caseRange: [from, from + cases.length],
  methods,
  settings,
  backend: backend.name,
  host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
};
console.error(`${cases.length} cases x ${methods.length} methods (${methods.map((m) => m.name).join(', ')}), max ${settings.maxSteps} steps, frames every ${settings.imageEvery}`);

const dfd = new DetectorFeatureDistance();
const results: CaseResult[] = [];
const started = performance.now();
for (const [i, c] of cases.entries()) {
  // Methods are interleaved per case, so machine load drifts affect every method alike.
  for (const m of methods) {
    const r = await runCase(gen, detector, dfd, c, m, settings);
    results.push(r);
    console.error(
      `[${i + 1}/${cases.length}] ${c.id} ${c.length}/${c.count}/${c.masked ? 'mask' : 'no-mask'} ${c.motion} ${m.name}: ` +
        `MD ${r.md.toFixed(2)} (from ${r.startDistance.toFixed(1)}) ${r.reason} ${r.steps} steps ${r.seconds.toFixed(1)} s PSNR ${r.psnr.toFixed(1)} track ${r.trackError.toFixed(2)}`,
    );
  }
  if (values.out) writeFileSync(values.out, JSON.stringify({ meta: { ...meta, elapsedSeconds: (performance.now() - started) / 1000 }, results }, null, 1));
}
meta.host.loadavg = os.loadavg();
const training = trainingInfo(gen);
emit(
  `Model ${modelPath} (sha256 ${modelSha.slice(0, 12)}; training: ${training ? JSON.stringify(training) : 'none recorded'}), ` +
    `${cases.length} cases, max ${settings.maxSteps} steps, backend ${backend.name}, ${((performance.now() - started) / 60000).toFixed(1)} min.\n\n${report(results)}`,
);
