/**
 * The PostgreSQL schema, derived from prisma/schema.prisma: the models are defined once, and Prisma needs
 * one schema (and one generated client) per provider. Only the datasource provider and the client's output
 * folder differ. Used by prisma/generate.mjs (the second client), server/db/migrate.ts and
 * prisma/make-migration.ts (the PostgreSQL migration set).
 */

export const SQLITE_CLIENT_OUTPUT = '../server/db/generated';
export const POSTGRES_CLIENT_OUTPUT = '../server/db/generated-pg';

/** Replaces exactly one occurrence of `from`, so an edit to schema.prisma that breaks the derivation fails loudly. */
function replaceOnce(text, from, to, what) {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`prisma/schema.prisma: expected exactly one ${what} (${from}) to derive the PostgreSQL schema from`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/**
 * @param {string} sqliteSchema the text of prisma/schema.prisma
 * @param {string} [output] where the PostgreSQL client is generated (relative to the schema file, or absolute)
 * @returns {string}
 */
export function postgresSchema(sqliteSchema, output = POSTGRES_CLIENT_OUTPUT) {
  // Native type attributes name one provider's types; the shared models must use Prisma's portable types.
  if (/@db\./.test(sqliteSchema)) throw new Error('prisma/schema.prisma: @db.* native types are provider-specific; use portable Prisma types');
  let text = replaceOnce(sqliteSchema, 'provider = "sqlite"', 'provider = "postgresql"', 'sqlite datasource provider');
  text = replaceOnce(text, `output   = "${SQLITE_CLIENT_OUTPUT}"`, `output   = ${JSON.stringify(output)}`, 'client output');
  return text;
}
