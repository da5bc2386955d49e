import { sql, type Kysely } from 'kysely';

// roost as an OpenID Connect provider. A session has a kind: 'app' (roost's
// own sign-in), 'browser' (the browser session behind the SSO cookie, found
// by a hash of the cookie that can never be a refresh token's), or 'oidc'
// (opened for a registered client, with the scope it was granted, when the
// person signed in at X, and the browser session it came from, so a logout
// ends them together).
// Frozen once released: change the schema with a new migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sessions')
    .addColumn('kind', 'text', (column) => column.notNull().defaultTo('app'))
    .addColumn('client_id', 'text')
    .addColumn('scope', 'text')
    .addColumn('auth_time', 'timestamptz')
    .addColumn('browser_session_id', 'uuid', (column) => column.references('sessions.id').onDelete('set null'))
    .execute();
  await sql`alter table sessions add constraint sessions_kind check (kind in ('app', 'browser', 'oidc'))`.execute(db);
  await sql`create index sessions_browser_session on sessions (browser_session_id) where browser_session_id is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index sessions_browser_session`.execute(db);
  await sql`alter table sessions drop constraint sessions_kind`.execute(db);
  await db.schema.alterTable('sessions').dropColumn('browser_session_id').dropColumn('auth_time').dropColumn('scope').dropColumn('client_id').dropColumn('kind').execute();
}
