/**
 * A real PostgreSQL for a test file: a throwaway server (prisma/postgres-cluster.ts: initdb into a temp
 * folder, postgres on 127.0.0.1 at a free port, as the `postgres` user when the tests run as root) started
 * before the file's first test and stopped after its last. Each createDatabase() gives an empty database.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { startPostgresCluster, type PostgresCluster } from '../../prisma/postgres-cluster.js';

export interface PostgresFixture {
  /** A new empty database on the file's server. */
  createDatabase(): Promise<Database & { provider: 'postgresql' }>;
}

export function usePostgres(): PostgresFixture {
  let cluster: PostgresCluster | undefined;
  let count = 0;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());
  return {
    async createDatabase() {
      if (!cluster) throw new Error('the PostgreSQL fixture is not running (used outside a test?)');
      return { provider: 'postgresql', url: await cluster.createDatabase(`test_${++count}`) };
    },
  };
}
