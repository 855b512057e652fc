/**
 * Render fairness and the preview cache through the whole server, with the default limits:
 *   1. a seed preview rendered vs served from the cache (latency a client sees);
 *   2. one address flooding previews of new seeds from several connections while another address asks for
 *      one preview every 300 ms: what the quiet address waits, and how the flood is answered;
 *   3. the cost of a token-bucket check (every Socket.IO request pays it).
 * Clients take distinct loopback addresses (127.0.0.2, .3) so the server sees two callers.
 *
 *   npx tsx server/tools/bench-fairness.ts [model.safetensors] [flood seconds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { startStudioServer } from '../studio-server.js';
import { BUNDLED_MODEL } from '../config.js';
import type { Result } from '../../contract/events.js';
import { TokenBuckets } from '../token-buckets.js';

const modelPath = process.argv[2] ?? BUNDLED_MODEL;
const floodSeconds = Number(process.argv[3] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'stabledrag-bench-'));
const server = await startStudioServer({
  port: 0, host: '127.0.0.1', dbFile: join(dir, 'bench.db'), models: [{ id: 'm', label: 'm', path: modelPath }], measureStepTimes: false, log: () => {},
  // The flood is the point here: lift the preview quota and the message rate (which would disconnect the
  // flooder within seconds) so the render queue, not those, answers it.
  limits: { seedPreviewBurst: 1e6, socketMessageBurst: 1e6, socketMessagesPerSecond: 1e6 },
});

async function connect(localAddress: string): Promise<Socket> {
  const s = io(server.url, { transports: ['websocket'], forceNew: true, localAddress } as never);
  await new Promise<void>((ok, fail) => (s.once('connect', ok), s.once('connect_error', fail)));
  return s;
}
const preview = (s: Socket, seed: number) => (s as unknown as { emitWithAck(e: string, a: unknown): Promise<Result<unknown>> }).emitWithAck('seed:preview', { model: 'm', seed });
const pct = (a: number[], p: number) => (a.length === 0 ? NaN : [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))]);
const ms = (x: number) => `${x.toFixed(1)} ms`;

try {
  const quiet = await connect('127.0.0.3');
  await preview(quiet, 0); // the worker loads the model
  const cold: number[] = [];
  const warm: number[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    let t = performance.now();
    await preview(quiet, seed);
    cold.push(performance.now() - t);
    t = performance.now();
    await preview(quiet, seed);
    warm.push(performance.now() - t);
  }
  console.log(`preview rendered: p50 ${ms(pct(cold, 50))}, p99 ${ms(pct(cold, 99))}; from the cache: p50 ${ms(pct(warm, 50))}, p99 ${ms(pct(warm, 99))}`);

  const flooders = await Promise.all(Array.from({ length: 4 }, () => connect('127.0.0.2')));
  let seed = 1000;
  let ok = 0;
  let busy = 0;
  let other = 0;
  const until = Date.now() + floodSeconds * 1000;
  const floods = flooders.map(async (s) => {
    // Each connection keeps 8 requests in flight (the per-connection limit).
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          const r = await preview(s, seed++);
          if (r.ok) ok++;
          else if (r.error.code === 'busy') {
            busy++;
            await new Promise((w) => setTimeout(w, 20));
          } else other++;
        }
      }),
    );
  });
  const waits: number[] = [];
  let refused = 0;
  while (Date.now() < until) {
    await new Promise((w) => setTimeout(w, 300));
    const t = performance.now();
    const r = await preview(quiet, 5000 + waits.length + refused);
    if (r.ok) waits.push(performance.now() - t);
    else refused++;
  }
  await Promise.all(floods);
  console.log(
    `flood (1 address, 4 connections x 8 in flight, ${floodSeconds} s): ${ok} rendered, ${busy} answered busy, ${other} other errors; ` +
      `quiet address meanwhile: ${waits.length} previews, p50 ${ms(pct(waits, 50))}, p99 ${ms(pct(waits, 99))}, ${refused} refused`,
  );
  for (const s of [quiet, ...flooders]) s.disconnect();

  const buckets = new TokenBuckets({ perSecond: 20, burst: 40 });
  const n = 1_000_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) buckets.take(String(i % 1000));
  console.log(`token bucket check: ${(((performance.now() - t) / n) * 1e6).toFixed(0)} ns per request`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
