// The database: table types, the Kysely instance (Postgres through pg, or the
// embedded PGlite when no DATABASE_URL is set) and migrations.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MIGRATION_TABLE, Kysely, Migrator, sql, type ColumnType, type Generated, type LogEvent } from 'kysely';
import pg from 'pg';
import { migrations } from '../../migrations/index.js';
import { CurrentSchemaPostgresDialect } from './current-schema-introspector.js';
import { AppError } from '../errors.js';
import { statementName } from './named-statements.js';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface UsersTable {
  id: Generated<string>;
  twitter_id: string;
  screen_name: string;
  name: string;
  picture: string | null;
  email: string | null;
  twitter_token_sealed: string;
  /** The OAuth 1.0a token secret; null for OAuth 2.0 credentials. */
  twitter_token_secret_sealed: string | null;
  /** oauth1 or oauth2: the protocol the stored credentials belong to. */
  twitter_protocol: ColumnType<string, string | undefined, string>;
  /** Set while an operator suspends the user (the admin API); a new sign-in keeps it. */
  banned_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  ban_reason: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** next, current, previous, expired or revoked (see key-lifecycle.ts). */
  state: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  /** Null once the key has left the JWKS. */
  private_jwk_sealed: string | null;
  created_at: Timestamp;
  published_at: Timestamp;
  activated_at: NullableTimestamp;
  retired_at: NullableTimestamp;
  expired_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  /** When a replica that keeps this key's algorithm last said so (its current key only). */
  in_use_at: NullableTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  refresh_hash: string;
  created_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  revoked_reason: string | null;
  user_agent: string | null;
  ip: string | null;
  /** SHA-256 of the family tag its refresh tokens share; null until a session opened before it was kept rotates. */
  refresh_family: string | null;
  /** How many times its refresh token was rotated. */
  rotations: Generated<number>;
  /** The claims the sign-in hook added, carried by every token of the session; null without a hook. */
  claims: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** 'app' (roost's own sign-in), 'browser' (the OpenID Connect browser session, SSO) or 'oidc' (a registered client's). */
  kind: ColumnType<SessionKind, SessionKind | undefined, SessionKind>;
  /** The OpenID Connect client an 'oidc' session was opened for. */
  client_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The scope granted to that client, space-separated. */
  scope: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the person signed in at X ('browser' and 'oidc' sessions). */
  auth_time: NullableTimestamp;
  /** The browser session an 'oidc' session was opened from; a logout there ends it too. */
  browser_session_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export type SessionKind = 'app' | 'browser' | 'oidc';

export interface SpentRefreshTokensTable {
  hash: string;
  session_id: string;
  spent_at: Timestamp;
  /** The rotation that spent it (the session's `rotations` after it); null for tokens spent before it was kept. */
  generation: number | null;
}

/** Secrets roost makes for itself (the refresh token chain), sealed with ENCRYPTION_KEY. */
export interface SealedSecretsTable {
  name: string;
  sealed: string;
  created_at: Timestamp;
}

/** One row per audit event, never updated (migrations/0007_audit_and_webhooks.ts). */
export interface AuditEventsTable {
  /** A UUIDv7: sorts by the time it was made. */
  id: string;
  occurred_at: ColumnType<Date, Date | string, never>;
  type: string;
  user_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** success or failure. */
  outcome: string;
  /** A small object of scalars, never a secret (src/audit/detail.ts). */
  detail: ColumnType<Record<string, string | number | boolean | null>, string, never>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** The webhook outbox: one row per event while a webhook is configured. */
export interface WebhookDeliveriesTable {
  /** The event's id, sent as webhook-id on every attempt. */
  id: string;
  event_type: string;
  /** The event's time; the delivery is given up WEBHOOK_MAX_AGE after it. */
  created_at: Timestamp;
  /** The exact body of every attempt. */
  payload: string;
  status: DeliveryStatus;
  /** Claims so far; a claim's result is recorded only while it is the last one. */
  attempts: ColumnType<number, number | undefined, number>;
  /** When a pending delivery is due; while claimed, when the claim's lease ends. */
  next_attempt_at: Timestamp;
  last_attempt_at: NullableTimestamp;
  /** The receiver's HTTP status at the last attempt, null when none came. */
  last_status: ColumnType<number | null, number | null | undefined, number | null>;
  /** Why the last attempt failed, in words (never a secret); null after a success. */
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  delivered_at: NullableTimestamp;
}

export interface Database {
  users: UsersTable;
  audit_events: AuditEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  signing_keys: SigningKeysTable;
  sessions: SessionsTable;
  spent_refresh_tokens: SpentRefreshTokensTable;
  sealed_secrets: SealedSecretsTable;
}

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  readonly databaseUrl: string | undefined;
  readonly poolSize: number;
  /** Query timeout, 0 for none; connecting may take at most this too, and never more than 2 s. Default 5000. */
  readonly timeoutMs?: number;
  readonly dataDir: string;
  readonly onPoolError?: (error: Error) => void;
  /** Each failed attempt to get a connection, counted by the metrics. */
  readonly onConnectError?: (error: unknown) => void;
  /** Each failed statement, counted by the metrics. */
  readonly onQueryError?: (error: unknown) => void;
  /**
   * Send the statements named in named-statements.ts as named prepared
   * statements (default true). Off for a pooler that cannot keep them, such
   * as PgBouncer in transaction mode before 1.21 or without max_prepared_statements.
   */
  readonly preparedStatements?: boolean;
}

export async function createDatabase(options: DatabaseOptions): Promise<Db> {
  const log = (event: LogEvent) => {
    if (event.level === 'error') options.onQueryError?.(event.error);
  };
  if (options.databaseUrl !== undefined) {
    const timeoutMs = options.timeoutMs ?? 5000;
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize,
      // Fail fast when Postgres is away instead of queueing requests forever.
      connectionTimeoutMillis: timeoutMs > 0 ? Math.min(2000, timeoutMs) : 2000,
      ...(timeoutMs > 0 ? { query_timeout: timeoutMs } : {}),
    });
    // pg-pool listens for errors only on idle clients: a connection that drops
    // while a query holds it would emit an unhandled 'error' and end the
    // process. The query itself still fails (503); this only keeps the process
    // up. Every client reports here, so the pool's own re-emission of an idle
    // client's error is not reported twice (but must be listened to).
    pool.on('connect', (client) => {
      client.on('error', (error) => options.onPoolError?.(error));
      if (options.preparedStatements !== false) sendNamedStatements(client);
    });
    pool.on('error', () => {});
    const counted = {
      connect: () =>
        pool.connect().catch((error: unknown) => {
          options.onConnectError?.(error);
          throw error;
        }),
      end: () => pool.end(),
    };
    return new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool: counted }), log });
  }
  // Loaded only in embedded mode: PGlite is large and slow to start.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
  ]);
  const dir = path.resolve(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  return new Kysely<Database>({ dialect: new PGliteDialect(new PGlite(dir)), log });
}

/**
 * From now on the connection sends a statement of named-statements.ts under
 * its name: Postgres parses and plans it on its first use on this
 * connection, then only binds and executes it. Kysely sends every query as
 * `query(text, values)`; anything else passes through untouched.
 */
function sendNamedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, ...rest: unknown[]) => {
    const name = typeof text === 'string' ? statementName(text) : undefined;
    if (name === undefined || rest.length !== 1 || !Array.isArray(rest[0])) return query(text, ...rest);
    return query({ name, text, values: rest[0] });
  }) as typeof client.query;
}

/**
 * What an operator should read when the first connection to DATABASE_URL
 * fails: the variable, where it points (never its password) and why in
 * words. undefined for any other error, which is reported as it is.
 */
export function describeConnectionError(error: unknown, databaseUrl: string): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const why =
    code === 'ECONNREFUSED' ? 'connection refused: is Postgres running there?'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve'
    : code === 'ETIMEDOUT' || code === 'ECONNRESET' || (typeof message === 'string' && /timeout/i.test(message)) ? 'no answer in time'
    : code === '28P01' || code === '28000' ? 'the server refused the user or password'
    : code === '3D000' ? 'that database does not exist'
    : undefined;
  if (why === undefined) return undefined;
  let target = 'the server it names';
  try {
    const url = new URL(databaseUrl);
    target = `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname.length > 1 ? url.pathname : ''}`;
  } catch {
    // An unparsable URL was refused by the configuration already.
  }
  return `DATABASE_URL: cannot connect to ${target} (${why})`;
}

/**
 * Applies pending migrations over a connection of its own that has no query
 * timeout: building an index on a large table, or waiting for another
 * replica's migration lock, may take longer than any request should. The
 * embedded database allows one connection only, so it migrates on `db`.
 */
export async function migrateDatabase(db: Db, options: Pick<DatabaseOptions, 'databaseUrl' | 'dataDir'>): Promise<string[]> {
  if (options.databaseUrl === undefined) return migrateToLatest(db);
  if ((await pendingMigrations(db)).length === 0) return [];
  const migrating = await createDatabase({ databaseUrl: options.databaseUrl, dataDir: options.dataDir, poolSize: 1, timeoutMs: 0 });
  try {
    return await migrateToLatest(migrating);
  } finally {
    await migrating.destroy();
  }
}

/** Applies pending migrations on `db`. Kysely's migrator holds a lock, so replicas starting together are safe. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // Nothing to do on most starts, and cheap to check.
  if ((await pendingMigrations(db)).length === 0) return [];
  // Kysely looks for its bookkeeping tables in every schema unless told
  // which one, so name the schema the connection actually uses.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(rows[0]?.schema ? { migrationTableSchema: rows[0].schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The migrations this code knows and the database has not applied. Read from
 * Kysely's bookkeeping table directly: cheap enough for every readiness probe.
 */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(db);
    applied = new Set(rows.map((row) => row.name));
  } catch (error) {
    // 42P01 undefined_table: nothing was ever migrated here.
    if ((error as { code?: unknown }).code !== '42P01') throw error;
    applied = new Set();
  }
  return Object.keys(migrations).filter((name) => !applied.has(name));
}

/** Runs a database call; a failure becomes a 503, never a hang or a half-answer. */
export async function withDatabase<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('database_unavailable', 'The database did not answer; try again shortly', { cause: error });
  }
}
