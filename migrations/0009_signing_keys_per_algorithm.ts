import { sql, type Kysely } from 'kysely';

// One key lifecycle per algorithm: access tokens are signed with JWT_ALG and
// ID tokens with the algorithms OpenID Connect clients ask for (RS256 by
// default, OIDC Core §15.1), each by a current key of its own, with its own
// next key. The one-current and one-next indexes become per algorithm.
// in_use_at: when a replica that signs with the key's algorithm last said so;
// a replica without the algorithm retires its key only once none has for a
// while. Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index signing_keys_one_current`.execute(db);
  await sql`drop index signing_keys_one_next`.execute(db);
  // Replicas racing to create an algorithm's first key, or to rotate it, collide here.
  await sql`create unique index signing_keys_one_current_per_alg on signing_keys (alg) where state = 'current'`.execute(db);
  await sql`create unique index signing_keys_one_next_per_alg on signing_keys (alg) where state = 'next'`.execute(db);
  await db.schema.alterTable('signing_keys').addColumn('in_use_at', 'timestamptz').execute();
  // The key signing now is in use now.
  await sql`update signing_keys set in_use_at = now() where state = 'current'`.execute(db);
}

// Back to one current and one next key over the whole table. The algorithm
// kept is the one with a current key (else a next key) whose keys go back
// furthest, most likely JWT_ALG's (ID tokens came later); the other
// algorithms' current keys become previous, so they stay published until
// their tokens have expired, and their next keys, which never signed, leave.
export async function down(db: Kysely<unknown>): Promise<void> {
  const kept = sql`(
    select alg from signing_keys group by alg
    having bool_or(state in ('current', 'next'))
    order by bool_or(state = 'current') desc, min(created_at), alg
    limit 1
  )`;
  await sql`update signing_keys set state = 'previous', retired_at = now() where state = 'current' and alg <> ${kept}`.execute(db);
  await sql`update signing_keys set state = 'expired', expired_at = now(), private_jwk_sealed = null where state = 'next' and alg <> ${kept}`.execute(db);
  await db.schema.alterTable('signing_keys').dropColumn('in_use_at').execute();
  await sql`drop index signing_keys_one_next_per_alg`.execute(db);
  await sql`drop index signing_keys_one_current_per_alg`.execute(db);
  await sql`create unique index signing_keys_one_current on signing_keys ((true)) where state = 'current'`.execute(db);
  await sql`create unique index signing_keys_one_next on signing_keys ((true)) where state = 'next'`.execute(db);
}
