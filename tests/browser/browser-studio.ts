/**
 * The set-up both browser tests share: the production Next app served by a real studio server (port 0, its
 * own SQLite file, the tiny test model) and Debian's Chromium through playwright-core, one browser context
 * per user.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startStudioServer, type NextAppHandle, type StudioServer, type StudioServerOptions } from '../../server/studio-server.js';
import { createNextApp } from '../../server/next-app.js';
import type { ModelEntry } from '../../server/rooms/model-registry.js';
import { TINY_MODEL, TINY_MODEL_ID, tempDir } from '../server/helpers.js';
import { ensureAppBuild, ROOT } from './app-build.js';

const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const ARTIFACTS = join(ROOT, 'test-artifacts');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];

export interface BrowserStudio {
  readonly server: StudioServer;
  /** Closes the server (the browser and the Next app stay). */
  stop(): Promise<void>;
  /** Starts a server again on the same SQLite file and Next app (`port` 0 = any). */
  start(port?: number): Promise<StudioServer>;
  /** A page in a fresh browser context whose stored identity is this user. */
  userPage(name: string, color: string): Promise<Page>;
}

/** `serverOptions` adds to the server's (a models directory, for instance). */
export function useBrowserStudio(viewport: { width: number; height: number }, serverOptions: Partial<StudioServerOptions> = {}): BrowserStudio {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let server: StudioServer | undefined;
  let browser: Browser | undefined;
  // The Next app outlives server restarts: one Next instance per process, as under `npm start`.
  let nextApp: NextAppHandle | undefined;
  const contexts: BrowserContext[] = [];

  async function start(port: number): Promise<StudioServer> {
    nextApp ??= await createNextApp({ dir: ROOT, dev: false, port });
    return startStudioServer({
      port,
      host: '127.0.0.1',
      dbFile: join(tmp!.dir, 'studio.db'),
      models: [{ id: TINY_MODEL_ID, label: 'Tiny (tests)', path: TINY_MODEL }],
      measureStepTimes: false,
      next: { ...nextApp, close: undefined },
      log: () => {},
      ...serverOptions,
    });
  }

  beforeAll(async () => {
    ensureAppBuild();
    tmp = tempDir();
    server = await start(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
    await nextApp?.close?.();
    tmp?.cleanup();
  });

  return {
    get server() {
      if (!server) throw new Error('the studio server is not running (used outside a test?)');
      return server;
    },
    async stop() {
      await server?.close();
      server = undefined;
    },
    async start(port = 0) {
      server = await start(port);
      return server;
    },
    async userPage(name, color) {
      const ctx = await browser!.newContext({ viewport, deviceScaleFactor: 1 });
      contexts.push(ctx);
      await ctx.addInitScript(
        ([n, c]) => localStorage.setItem('stabledrag.identity', JSON.stringify({ id: `id-${n}`, name: n, color: c })),
        [name, color],
      );
      return ctx.newPage();
    },
  };
}

export const stagePixels = (page: Page) => page.getByTestId('stage-canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
