/**
 * What the operational checks cost on a running server (no Next): /api/health/live, /api/health/ready (a
 * database query and the worker count), a refused malformed upgrade over a raw socket, and
 * cleanDisplayText on a name and on a title at their limits. Sequential requests from one client, so the
 * figures are per request, not throughput.
 *
 *   npx tsx server/tools/bench-ops.ts [requests]
 */
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStudioServer } from '../studio-server.js';
import { BUNDLED_MODEL } from '../config.js';
import { cleanDisplayText, MAX_NAME_GRAPHEMES, MAX_TITLE_GRAPHEMES } from '../../contract/display-text.js';

const N = Number(process.argv[2] ?? 300);

function percentiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'stabledrag-bench-ops-'));
const server = await startStudioServer({ port: 0, host: '127.0.0.1', dbFile: join(dir, 'studio.db'), models: [{ id: 'm', label: 'm', path: BUNDLED_MODEL }], measureStepTimes: false, log: () => {} });
try {
  const get = (path: string) => fetch(server.url + path).then((r) => r.arrayBuffer());
  await get('/api/health');
  console.log(`/api/health/live   ${percentiles(await time(() => get('/api/health/live')))}`);
  console.log(`/api/health/ready  ${percentiles(await time(() => get('/api/health/ready')))}`);
  const refused = () =>
    new Promise<void>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.write('GET /yjs/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
      s.on('data', () => undefined);
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
  console.log(`malformed upgrade  ${percentiles(await time(refused))} (connect, 400, close)`);
  const name = `\u2066Ann\u2069 ${'é'.repeat(60)}`;
  const title = `\u202Eroom\u200B ${'👩‍💻'.repeat(20)}${'e\u0301'.repeat(60)}`;
  const clean = (text: string, max: number) => time(async () => {
    for (let i = 0; i < 100; i++) cleanDisplayText(text, max);
  });
  console.log(`cleanDisplayText   name x100 ${percentiles(await clean(name, MAX_NAME_GRAPHEMES))}; title x100 ${percentiles(await clean(title, MAX_TITLE_GRAPHEMES))}`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
