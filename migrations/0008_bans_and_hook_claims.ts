import { sql, type Kysely } from 'kysely';

// Operators may suspend a user: the ban is kept on the user's row (a new
// sign-in keeps it), with the reason the operator gave. A session keeps the
// claims the sign-in hook added, so every token of the session carries them.
// The admin API finds users by handle prefix, by email and newest first:
// each through an index, however many users there are.
// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('banned_at', 'timestamptz').addColumn('ban_reason', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('claims', 'jsonb').execute();
  await sql`create index users_screen_name_prefix on users (lower(screen_name) text_pattern_ops)`.execute(db);
  await sql`create index users_email_lower on users (lower(email)) where email is not null`.execute(db);
  await db.schema.createIndex('users_created_at_id').on('users').columns(['created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('users_created_at_id').execute();
  await db.schema.dropIndex('users_email_lower').execute();
  await db.schema.dropIndex('users_screen_name_prefix').execute();
  await db.schema.alterTable('sessions').dropColumn('claims').execute();
  await db.schema.alterTable('users').dropColumn('banned_at').dropColumn('ban_reason').execute();
}
