/**
 * Loads Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm) and binds it to the
 * server's driver adapter (better-sqlite3 for a SQLite file, pg for PostgreSQL). The Prisma CLI's migrate commands want to download a native engine
 * binary, which cannot happen offline; the wasm engine ships inside its npm package and needs nothing.
 *
 * The package is published for bundlers (`import * as wasm from "./x.wasm"`), which plain Node cannot
 * load, so the module is instantiated by hand here. These are internal Prisma interfaces: the versions are
 * pinned exactly in package.json and tests/server/migrate.test.ts migrates a fresh database to catch drift.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bindMigrationAwareSqlAdapterFactory, type SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import { databaseOf, type DatabaseTarget } from './database.js';
import { postgresAdapter } from './postgres.js';
import { sqliteAdapter } from './sqlite.js';

export type SchemaEngine = bg.SchemaEngine;

let wasmReady: Promise<void> | undefined;

function initWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve('@prisma/schema-engine-wasm').replace(/schema_engine\.js$/, 'schema_engine_bg.wasm');
    const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
      './schema_engine_bg.js': bg as unknown as WebAssembly.ModuleImports,
    });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as unknown as { __wbindgen_start(): void }).__wbindgen_start();
  })();
  return wasmReady;
}

export interface OpenedSchemaEngine {
  engine: SchemaEngine;
  /** Frees the engine and closes its database connections (engine.free() alone leaves SQLite locked). */
  close(): Promise<void>;
}

/**
 * Opens a schema engine on a SQLite file or a PostgreSQL database; `schema` must name the same provider.
 * `log` receives the engine's JSON log lines.
 */
export async function openSchemaEngine(target: DatabaseTarget, schema: string, log: (line: string) => void = () => {}): Promise<OpenedSchemaEngine> {
  await initWasm();
  const db = databaseOf(target);
  // The same adapter as the server's client: on SQLite, WAL and the busy timeout apply to migrations too.
  const inner = db.provider === 'sqlite' ? sqliteAdapter(db.file) : postgresAdapter(db.url);
  const opened: SqlDriverAdapter[] = [];
  const track = async (connect: () => Promise<SqlDriverAdapter>) => {
    const adapter = await connect();
    opened.push(adapter);
    return adapter;
  };
  const factory = bindMigrationAwareSqlAdapterFactory({
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: () => track(() => inner.connect()),
    connectToShadowDb: () => track(() => inner.connectToShadowDb()),
  });
  const engine = await bg.SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, log, factory);
  return {
    engine,
    close: async () => {
      engine.free();
      for (const a of opened.splice(0)) await a.dispose();
    },
  };
}
