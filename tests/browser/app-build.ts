/** Makes sure a production build of the web app exists and is newer than its sources (builds at most once). */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureAppBuild(): void {
  const buildId = join(ROOT, '.next', 'BUILD_ID');
  const sources = Math.max(newestMtime(join(ROOT, 'app')), newestMtime(join(ROOT, 'contract')), statSync(join(ROOT, 'next.config.js')).mtimeMs);
  if (existsSync(buildId) && statSync(buildId).mtimeMs > sources) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/next/dist/bin/next'), 'build'], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  });
}
