import { sql, type Kysely } from 'kysely';

// Refresh tokens after this migration:
// - the key their rotation chain is derived with is a secret of its own,
//   made once and kept here sealed with ENCRYPTION_KEY, so it survives a
//   rotation of ENCRYPTION_KEY;
// - a session keeps its last few spent tokens only (by generation, the
//   rotation that spent each), and is found by its tokens' family tag
//   instead, however old the token.
// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Secrets roost makes for itself, one row each, sealed like signing keys.
  await db.schema
    .createTable('sealed_secrets')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('sealed', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .alterTable('sessions')
    // SHA-256 of the family tag of the session's tokens; null for sessions opened before, until their next rotation.
    .addColumn('refresh_family', 'text')
    .addColumn('rotations', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('sessions_refresh_family').unique().on('sessions').column('refresh_family').where(sql.ref('refresh_family'), 'is not', null).execute();

  // Null for tokens spent before: they are kept until their session is purged.
  await db.schema.alterTable('spent_refresh_tokens').addColumn('generation', 'integer').execute();
  await db.schema
    .createIndex('spent_refresh_tokens_session_generation')
    .on('spent_refresh_tokens')
    .columns(['session_id', 'generation'])
    .where(sql.ref('generation'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('spent_refresh_tokens_session_generation').execute();
  await db.schema.alterTable('spent_refresh_tokens').dropColumn('generation').execute();
  await db.schema.dropIndex('sessions_refresh_family').execute();
  await db.schema.alterTable('sessions').dropColumn('rotations').dropColumn('refresh_family').execute();
  await db.schema.dropTable('sealed_secrets').execute();
}
