// Fills the benchmark's database before a second round of measurements, so
// that cost per operation can be compared as data grows: `users` users, five
// sessions each (two live, one revoked, one past its absolute expiry, one
// idle; the ended ones within SESSION_RETENTION, so the purge leaves them)
// and a spent refresh token per session. Made by Postgres itself, in
// batches of INSERT … SELECT generate_series, then vacuumed and analyzed.
// As for any bulk load, the secondary indexes are dropped first and built
// again after, from the definitions the database itself reports (so they
// are the migrations' own), and the foreign keys are not checked row by row
// when the role may skip them: the rows are consistent by construction.
import pg from 'pg';

export interface SeedSettings {
  readonly users: number;
  readonly now: Date;
  readonly idleSeconds: number;
  /** Called after each batch, with the users made so far. */
  readonly progress?: (users: number) => void;
}

export interface SeedResult {
  readonly users: number;
  readonly sessions: number;
  readonly spentTokens: number;
  readonly seconds: number;
  readonly databaseMb: number;
}

export const SESSIONS_PER_USER = 5;
// Far from the provider's users (load-provider.ts), with as many digits, so text order is numeric order.
const FIRST_TWITTER_ID = 2240000000000000000n;
const BATCH = 100_000;

export async function seedDatabase(databaseUrl: string, settings: SeedSettings): Promise<SeedResult> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Bulk loading: a lost commit on a crash costs nothing here.
    await client.query('set synchronous_commit = off');
    await client.query(`set maintenance_work_mem = '256MB'`);
    await client.query('set session_replication_role = replica').catch(() => undefined);
    const secondary = await client.query<{ name: string; definition: string }>(
      `select indexname as name, indexdef as definition from pg_indexes i
       where schemaname = current_schema() and tablename in ('users', 'sessions', 'spent_refresh_tokens')
         and not exists (select 1 from pg_constraint c where c.conname = i.indexname and c.connamespace = current_schema()::regnamespace)`,
    );
    for (const index of secondary.rows) await client.query(`drop index "${index.name}"`);
    const hour = 3600_000;
    const day = 24 * hour;
    const now = settings.now.getTime();
    const times = [
      new Date(now - settings.idleSeconds * 1000 - 2 * day), // created_at
      new Date(now - hour), // last use of a live session
      new Date(now - day), // revoked, expired
      new Date(now - settings.idleSeconds * 1000 - day), // last use of an idle one
      new Date(now + 27 * day), // expiry of the others
    ];
    for (let first = 0; first < settings.users; first += BATCH) {
      const last = Math.min(settings.users, first + BATCH) - 1;
      const from = (FIRST_TWITTER_ID + BigInt(first)).toString();
      const to = (FIRST_TWITTER_ID + BigInt(last)).toString();
      await client.query('begin');
      await client.query(
        `insert into users (twitter_id, screen_name, name, twitter_token_sealed, twitter_token_secret_sealed)
         select ($1::numeric + i)::text, 'seed_' || i, 'Seed user ' || i, 'sealed', 'sealed' from generate_series($2::int, $3::int) as i`,
        [FIRST_TWITTER_ID.toString(), first, last],
      );
      // A token hash looks like roost's: unpadded base64 of a SHA-256, 43 characters.
      await client.query(
        `insert into sessions (user_id, refresh_hash, refresh_family, rotations, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip)
         select u.id,
           rtrim(encode(sha256(convert_to('live.' || u.twitter_id || '.' || n, 'UTF8')), 'base64'), '='),
           rtrim(encode(sha256(convert_to('family.' || u.twitter_id || '.' || n, 'UTF8')), 'base64'), '='),
           1, $3::timestamptz,
           case n when 5 then $6::timestamptz else $4::timestamptz end,
           case n when 4 then $5::timestamptz else $7::timestamptz end,
           case n when 3 then $5::timestamptz end,
           case n when 3 then 'signed_out' end,
           'Mozilla/5.0 (seed)', '192.0.2.1'
         from users u cross join generate_series(1, ${SESSIONS_PER_USER}) as n
         where u.twitter_id between $1 and $2`,
        [from, to, ...times],
      );
      await client.query(
        `insert into spent_refresh_tokens (hash, session_id, spent_at, generation)
         select rtrim(encode(sha256(convert_to('spent.' || s.refresh_hash, 'UTF8')), 'base64'), '='), s.id, s.last_used_at, 1
         from sessions s join users u on u.id = s.user_id
         where u.twitter_id between $1 and $2`,
        [from, to],
      );
      await client.query('commit');
      settings.progress?.(last + 1);
    }
    for (const index of secondary.rows) await client.query(index.definition);
    await client.query('set session_replication_role = default').catch(() => undefined);
    await client.query('vacuum (analyze) users, sessions, spent_refresh_tokens');
    const size = await client.query<{ mb: string }>('select pg_database_size(current_database()) / 1048576 as mb');
    return {
      users: settings.users,
      sessions: settings.users * SESSIONS_PER_USER,
      spentTokens: settings.users * SESSIONS_PER_USER,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      databaseMb: Number(size.rows[0]?.mb),
    };
  } finally {
    await client.end();
  }
}
