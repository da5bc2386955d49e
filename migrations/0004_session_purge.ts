import { sql, type Kysely } from 'kysely';

// The purge of ended sessions finds them by each way a session ends:
// revoked, past its absolute expiry, or idle since its last use.
// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_last_used_at').on('sessions').column('last_used_at').execute();
  // Most sessions are never revoked: only the revoked ones are indexed.
  await db.schema.createIndex('sessions_revoked_at').on('sessions').column('revoked_at').where(sql.ref('revoked_at'), 'is not', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_revoked_at').execute();
  await db.schema.dropIndex('sessions_last_used_at').execute();
  await db.schema.dropIndex('sessions_expires_at').execute();
}
