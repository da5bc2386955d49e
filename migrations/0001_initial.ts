import { sql, type Kysely } from 'kysely';

// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // Twitter ids exceed 2^53: kept as the decimal string Twitter sends (id_str).
    .addColumn('twitter_id', 'text', (col) => col.notNull().unique())
    .addColumn('screen_name', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('picture', 'text')
    .addColumn('email', 'text')
    // Encrypted at rest. Twitter hands the same token to repeated sign-ins, so never unique.
    .addColumn('twitter_token_sealed', 'text', (col) => col.notNull())
    .addColumn('twitter_token_secret_sealed', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (col) => col.primaryKey())
    .addColumn('alg', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('public_jwk', 'jsonb', (col) => col.notNull())
    .addColumn('private_jwk_sealed', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // At most one key signs; replicas racing to create the first key collide here.
  await sql`create unique index signing_keys_one_current on signing_keys ((true)) where state = 'current'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('signing_keys').execute();
  await db.schema.dropTable('users').execute();
}
