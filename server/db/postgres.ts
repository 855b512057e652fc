/**
 * The PostgreSQL driver adapter (node-postgres pool) as the Prisma client and the migration engine open it.
 * No generated-client import here, so the migration tools work before `prisma generate`.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';

/** PostgreSQL's one-byte internal type `"char"` and `text`, by type OID. */
const CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * A pg client that reports `"char"` result columns as text. The schema engine reads the catalogue
 * (pg_class.relkind, pg_constraint.contype, ... are `"char"`), and @prisma/adapter-pg 7.10 maps no column
 * type for that OID, so every diff and introspection failed with "Column type 'char' could not be
 * deserialized from the database". node-postgres already returns such a value as a one-character string,
 * which is what text means to the adapter. The store's own tables have no such column.
 */
function charAsText(res: pg.QueryResult | undefined): void {
  for (const f of res?.fields ?? []) if (f.dataTypeID === CHAR_OID) f.dataTypeID = TEXT_OID;
}

class CharAsTextClient extends pg.Client {
  // Both call forms: the pool passes a callback, a checked-out client (transactions) gets a promise.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const cb = args[last] as (err: Error | null, res?: pg.QueryResult) => void;
      args[last] = (err: Error | null, res?: pg.QueryResult) => {
        if (!err) charAsText(res);
        cb(err, res);
      };
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<pg.QueryResult>).then((res) => {
        charAsText(res);
        return res;
      });
    }
    return out;
  }
}

/** The pg driver adapter for a postgres:// URL. Pool errors (a server restart) are logged, not thrown. */
export function postgresAdapter(url: string, log: (line: string) => void = console.warn): SqlMigrationAwareDriverAdapterFactory {
  return new PrismaPg(
    { connectionString: url, Client: CharAsTextClient },
    { onPoolError: (err) => log(`[db] postgres pool error: ${err.message}`) },
  );
}
