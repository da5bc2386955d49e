import { sql, type Kysely } from 'kysely';

// The key lifecycle: next (published, not yet signing) → current (signs) →
// previous (published until every token it signed has expired) → expired;
// any key can be revoked (gone from the JWKS at once). Frozen once released.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('signing_keys')
    .addColumn('published_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('activated_at', 'timestamptz')
    .addColumn('retired_at', 'timestamptz')
    .addColumn('expired_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    // Erased when a key leaves the JWKS: nothing can sign with it again.
    .alterColumn('private_jwk_sealed', (col) => col.dropNotNull())
    .execute();
  // Keys made before this migration were published and signing from creation.
  await sql`update signing_keys set published_at = created_at, activated_at = created_at where state = 'current'`.execute(db);
  await sql`alter table signing_keys add constraint signing_keys_state check (state in ('next', 'current', 'previous', 'expired', 'revoked'))`.execute(db);
  // At most one key waits to sign; replicas rotating at once collide here.
  await sql`create unique index signing_keys_one_next on signing_keys ((true)) where state = 'next'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index signing_keys_one_next`.execute(db);
  await sql`alter table signing_keys drop constraint signing_keys_state`.execute(db);
  await sql`delete from signing_keys where private_jwk_sealed is null or state <> 'current'`.execute(db);
  await db.schema
    .alterTable('signing_keys')
    .dropColumn('published_at')
    .dropColumn('activated_at')
    .dropColumn('retired_at')
    .dropColumn('expired_at')
    .dropColumn('revoked_at')
    .alterColumn('private_jwk_sealed', (col) => col.setNotNull())
    .execute();
}
