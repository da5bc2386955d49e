import { sql, type Kysely } from 'kysely';

// Users may sign in over OAuth 2.0 as well as OAuth 1.0a. A user stays one
// row, keyed by the X user id both protocols return; the row remembers which
// protocol its stored credentials belong to, so deleting the account revokes
// them the right way. An OAuth 2.0 access token comes without a secret.
// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('twitter_protocol', 'text', (col) => col.notNull().defaultTo('oauth1').check(sql`twitter_protocol in ('oauth1', 'oauth2')`))
    .execute();
  await db.schema.alterTable('users').alterColumn('twitter_token_secret_sealed', (col) => col.dropNotNull()).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // OAuth 2.0 rows have no secret: they cannot be kept under the old schema.
  await sql`delete from users where twitter_token_secret_sealed is null`.execute(db);
  await db.schema.alterTable('users').alterColumn('twitter_token_secret_sealed', (col) => col.setNotNull()).execute();
  await db.schema.alterTable('users').dropColumn('twitter_protocol').execute();
}
