import { sql, type Kysely } from 'kysely';

// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // A deleted user takes their sessions along.
    .addColumn('user_id', 'uuid', (col) => col.notNull().references('users.id').onDelete('cascade'))
    // SHA-256 of the one live refresh token; the token itself is never stored.
    .addColumn('refresh_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('last_used_at', 'timestamptz', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_reason', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('ip', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

  // Every refresh token a session has already used, so that presenting one
  // again is recognised as reuse (RFC 9700 §4.14.2) rather than as unknown.
  await db.schema
    .createTable('spent_refresh_tokens')
    .addColumn('hash', 'text', (col) => col.primaryKey())
    .addColumn('session_id', 'uuid', (col) => col.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('spent_at', 'timestamptz', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('spent_refresh_tokens_session_id').on('spent_refresh_tokens').column('session_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('spent_refresh_tokens').execute();
  await db.schema.dropTable('sessions').execute();
}
