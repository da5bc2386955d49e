// Configuration: parsed and validated once at start from the environment.
// loadConfig is pure: it reads only the object it is given, lists every
// problem it finds, and returns a frozen, typed config.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isIP } from 'node:net';
import { CLOCK_LEEWAY_SECONDS } from './keys/key-lifecycle.js';
import { DEFAULT_SIGNING_ALG, SIGNING_ALGS, isSigningAlg, type SigningAlg } from './keys/signing-keys.js';
import { parseRedirectUri, type RedirectUri } from './sign-in/redirect-uris.js';
import { DEFAULT_ID_TOKEN_ALG, ID_TOKEN_ALGS, checkClientEntry, parseOidcClients, staticClientStore, type ClientStore, type IdTokenAlg, type OidcClient } from './oidc/clients.js';
import { parseRedisUrl } from './store/redis-url.js';
import type { EmailMode, UpstreamProtocol } from './twitter/upstream.js';
import { parseWebhookSecret } from './webhooks/standard-webhooks.js';

export const SANDBOX_CONSUMER_KEY = 'roost-sandbox-consumer-key';
export const SANDBOX_CONSUMER_SECRET = 'roost-sandbox-consumer-secret';
export const SANDBOX_CLIENT_ID = 'roost-sandbox-client-id';
export const SANDBOX_CLIENT_SECRET = 'roost-sandbox-client-secret';
export const SANDBOX_PATH = '/sandbox/twitter';
/** Where the sandbox serves X's OAuth 2.0 authorize page, under SANDBOX_PATH (X's own is x.com/i/oauth2/authorize). */
export const SANDBOX_AUTHORIZE_PATH = '/i/oauth2/authorize';
const EMAIL_MODES = ['off', 'optional', 'required'] as const;
/** Both pairs of X keys, for the messages that name them. */
const X_KEYS = 'TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET (OAuth 2.0) or TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET (OAuth 1.0a)';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  /** The issuer of every token, and the base of the OAuth callback. No trailing slash. */
  readonly publicUrl: string;
  readonly callbackUrl: string;
  readonly twitter: {
    /** How roost signs in with X: OAuth 2.0 with PKCE, or OAuth 1.0a. */
    readonly protocol: UpstreamProtocol;
    readonly apiUrl: string;
    /** X's OAuth 2.0 authorize page. */
    readonly authorizeUrl: string;
    /** OAuth 1.0a keys; the sandbox's own when none are configured. */
    readonly consumerKey: string;
    readonly consumerSecret: string;
    /** OAuth 2.0 client credentials; the sandbox's own when none are configured. */
    readonly clientId: string;
    readonly clientSecret: string;
    readonly timeoutMs: number;
    /** Whether to ask X for the user's email, and whether a sign-in without one is refused. */
    readonly email: EmailMode;
  };
  /** True when roost serves its own Twitter stand-in (no X keys configured, and nothing says this is a real deployment). */
  readonly sandbox: boolean;
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /** Send the hot statements as named prepared statements (off behind a pooler that cannot keep them). */
  readonly databasePreparedStatements: boolean;
  /** The longest a database query may take before the request fails with a 503. */
  readonly databaseTimeoutMs: number;
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  /** The registered redirect URIs (RETURN_TO_URLS): the only places roost sends its answer. */
  readonly returnToUrls: readonly RedirectUri[];
  /** The origins whose pages may call the browser-facing API routes with fetch() (CORS). */
  readonly corsOrigins: readonly string[];
  /** Loopback hosts (`localhost`, `127.0.0.1`, `[::1]`) whose http origins are allowed on any port, as their RETURN_TO_URLS entries are. */
  readonly corsLoopbackHosts: readonly string[];
  readonly jwtAudience: string | undefined;
  readonly accessTokenTtl: number;
  readonly flowTtl: number;
  /** Seconds a session lasts from sign-in, however often it is refreshed. */
  readonly sessionTtl: number;
  /** Seconds a session survives without a refresh. */
  readonly sessionIdleTtl: number;
  /** Seconds in which a just-used refresh token may be presented again (two tabs refreshing at once). */
  readonly refreshReuseGrace: number;
  /** Seconds an ended session (and its spent refresh tokens) is kept before it is purged. */
  readonly sessionRetention: number;
  /** Mean seconds between two purges of ended sessions by this process; 0: no periodic purge. */
  readonly sessionPurgeInterval: number;
  readonly jwksMaxAge: number;
  /** The algorithm of new signing keys. */
  readonly jwtAlg: SigningAlg;
  /** Seconds a key signs before automatic rotation; 0: rotate only by command. */
  readonly keyRotationInterval: number;
  /** Seconds between two reads of the signing keys from Postgres. */
  readonly keyRefreshInterval: number;
  /** Absent only outside production; the server then keeps a generated one in dataDir. */
  readonly cookieSecret: string | undefined;
  readonly encryptionKey: Buffer | undefined;
  /** Earlier ENCRYPTION_KEYs: they still open what they sealed, and seal nothing new. */
  readonly encryptionKeysPrevious: readonly Buffer[];
  readonly logLevel: LogLevel;
  readonly migrateOnStart: boolean;
  /** Every Redis key starts with it, so deployments can share one Redis. */
  readonly redisKeyPrefix: string;
  /** When set, GET /metrics requires `Authorization: Bearer <it>`. */
  readonly metricsToken: string | undefined;
  /** How long a closing process waits for in-flight requests. */
  readonly shutdownTimeoutMs: number;
  /** Load shedding: past either bound a request is answered 503 overloaded at once; 0 turns that bound off. */
  readonly overloadMaxEventLoopDelayMs: number;
  readonly overloadMaxInFlight: number;
  /** Requests per client address and window on each of /login and /login/callback; 0 turns the limit off. */
  readonly loginRateLimit: number;
  readonly loginRateLimitWindow: number;
  /** Requests per client address and window on POST /token; 0 turns the limit off. */
  readonly tokenRateLimit: number;
  readonly tokenRateLimitWindow: number;
  /** Which proxies' X-Forwarded-For to believe: none (false), the nearest n hops, or these addresses and ranges. */
  readonly trustProxy: false | number | readonly string[];
  /** The admin API (/admin/): off (404) without keys. */
  readonly admin: {
    /** ADMIN_API_KEYS: each at least 32 characters, presented as a bearer token. */
    readonly keys: readonly string[];
    readonly rateLimit: number;
    readonly rateLimitWindow: number;
  };
  /** Seconds an audit event is kept. */
  readonly auditRetention: number;
  /** Signed webhooks for the audit events; undefined without WEBHOOK_URL. */
  readonly webhook: { readonly url: string; readonly key: Buffer; readonly maxAge: number } | undefined;
  /** The sign-in hook; undefined without SIGN_IN_HOOK_URL. */
  readonly signInHook: { readonly url: string; readonly key: Buffer; readonly timeoutMs: number; readonly failOpen: boolean } | undefined;
  /** The OpenID Connect provider: off (undefined) without registered clients. */
  readonly oidc: OidcConfig | undefined;
}

export interface OidcConfig {
  readonly clients: ClientStore;
  /** Every registered client, in the order given. */
  readonly clientList: readonly OidcClient[];
  /** The algorithms ID tokens are signed with: RS256 always (OIDC Core §15.1), and whatever a client asks for. */
  readonly idTokenAlgs: readonly IdTokenAlg[];
}

/** The client the zero-configuration sandbox registers for its landing page. */
export const DEMO_CLIENT_ID = 'roost-demo';

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** What the operator's commands read: each checks only the variables it uses. */
export type DatabaseCommandConfig = Pick<Config, 'databaseUrl' | 'databaseTimeoutMs' | 'dataDir'>;
export type KeysCommandConfig = DatabaseCommandConfig &
  Pick<Config, 'encryptionKey' | 'encryptionKeysPrevious' | 'jwtAlg' | 'jwksMaxAge' | 'keyRefreshInterval' | 'keyRotationInterval' | 'accessTokenTtl' | 'webhook' | 'oidc'>;
export type SessionsCommandConfig = DatabaseCommandConfig & Pick<Config, 'sessionTtl' | 'sessionIdleTtl' | 'sessionRetention'>;

/** Reads variables from env, collecting every problem instead of stopping at the first. */
function envReader(env: Env) {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const httpUrl = (name: string, raw: string): URL | undefined => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push(`${name} must be an absolute http(s) URL (got "${raw}")`);
      return undefined;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      problems.push(`${name} must use http or https, written with its scheme such as http://localhost:5173 (got "${raw}")`);
      return undefined;
    }
    if (url.username || url.password || url.search || url.hash) {
      problems.push(`${name} must not carry credentials, a query or a fragment`);
      return undefined;
    }
    return url;
  };
  /** The checked result, frozen; or every problem found, thrown. */
  const finish = <T extends object>(config: T): T => {
    if (problems.length > 0) throw new ConfigError(problems);
    return deepFreeze(config);
  };
  // Production only when exactly `production`; a value that looks like it but is not (`Production`, `prod`,
  // ` production`) would quietly turn production's requirements off, so it is refused.
  const nodeEnv = env.NODE_ENV ?? '';
  if (nodeEnv !== 'production' && /^\s*prod(uction)?\s*$/i.test(nodeEnv)) {
    problems.push(`NODE_ENV=${JSON.stringify(nodeEnv)} is not production: write NODE_ENV=production exactly, or another value such as development`);
  }
  return { problems, read, integer, boolean, httpUrl, finish, production: nodeEnv === 'production' };
}

type EnvReader = ReturnType<typeof envReader>;

function readDatabase(env: EnvReader): DatabaseCommandConfig {
  const databaseUrl = env.read('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    env.problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  return {
    databaseUrl,
    databaseTimeoutMs: env.integer('DATABASE_TIMEOUT_MS', 5000, 100, 60000),
    dataDir: env.read('DATA_DIR') ?? '.data',
  };
}

function readEncryptionKeys(env: EnvReader): Pick<Config, 'encryptionKey' | 'encryptionKeysPrevious'> {
  const encryptionRaw = env.read('ENCRYPTION_KEY');
  let encryptionKey: Buffer | undefined;
  if (encryptionRaw !== undefined) {
    encryptionKey = parseKey(encryptionRaw);
    if (!encryptionKey) env.problems.push('ENCRYPTION_KEY must be 32 bytes written as 64 hex digits or base64/base64url');
  } else if (env.production) {
    env.problems.push('ENCRYPTION_KEY is required when NODE_ENV=production (32 random bytes, hex or base64)');
  }
  const encryptionKeysPrevious: Buffer[] = [];
  for (const [index, raw] of (env.read('ENCRYPTION_KEYS_PREVIOUS') ?? '').split(',').map((item) => item.trim()).entries()) {
    if (raw === '') continue;
    const key = parseKey(raw);
    if (key) encryptionKeysPrevious.push(key);
    else env.problems.push(`ENCRYPTION_KEYS_PREVIOUS entry ${index + 1} must be 32 bytes written as 64 hex digits or base64/base64url`);
  }
  return { encryptionKey, encryptionKeysPrevious };
}

function readSessionTimes(env: EnvReader): Pick<Config, 'sessionTtl' | 'sessionIdleTtl' | 'sessionRetention'> {
  const sessionTtl = env.integer('SESSION_TTL', 30 * 86400, 300, 366 * 86400);
  // The idle default follows a shorter SESSION_TTL rather than contradicting it.
  const sessionIdleTtl = env.integer('SESSION_IDLE_TTL', Math.min(7 * 86400, sessionTtl), 300, 366 * 86400);
  if (sessionIdleTtl > sessionTtl) {
    env.problems.push(`SESSION_IDLE_TTL (${sessionIdleTtl}) must not exceed SESSION_TTL (${sessionTtl})`);
  }
  return { sessionTtl, sessionIdleTtl, sessionRetention: env.integer('SESSION_RETENTION', 7 * 86400, 0, 366 * 86400) };
}

function readSigningKeys(env: EnvReader): Pick<Config, 'jwtAlg' | 'jwksMaxAge' | 'keyRefreshInterval' | 'keyRotationInterval' | 'accessTokenTtl'> {
  const jwtAlg = env.read('JWT_ALG') ?? DEFAULT_SIGNING_ALG;
  if (!isSigningAlg(jwtAlg)) env.problems.push(`JWT_ALG must be one of ${SIGNING_ALGS.join(', ')} (got "${jwtAlg}")`);
  const jwksMaxAge = env.integer('JWKS_MAX_AGE', 300, 0, 86400);
  const keyRefreshInterval = env.integer('KEY_REFRESH_INTERVAL', 5, 1, 300);
  const keyRotationInterval = env.integer('KEY_ROTATION_INTERVAL', 0, 0, 365 * 86400);
  // A rotation publishes the next key for JWKS_MAX_AGE + KEY_REFRESH_INTERVAL + leeway before it signs.
  const publishDelay = jwksMaxAge + keyRefreshInterval + CLOCK_LEEWAY_SECONDS;
  if (keyRotationInterval !== 0 && keyRotationInterval < Math.max(3600, 2 * publishDelay)) {
    env.problems.push(
      `KEY_ROTATION_INTERVAL must be 0 (off) or at least ${Math.max(3600, 2 * publishDelay)} seconds: an hour, and twice the ${publishDelay} s a new key is published before it signs (got "${keyRotationInterval}")`,
    );
  }
  // Tokens live this long: a key that stopped signing stays published until the last one expires.
  const accessTokenTtl = env.integer('ACCESS_TOKEN_TTL', 900, 30, 86400);
  return { jwtAlg: jwtAlg as SigningAlg, jwksMaxAge, keyRefreshInterval, keyRotationInterval, accessTokenTtl };
}

/** The X keys as configured, before the sandbox decides whether any are needed. */
interface XKeys {
  readonly consumerKey: string | undefined;
  readonly consumerSecret: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  /** Which protocol the keys select: the one pair given, or TWITTER_PROTOCOL with both; undefined without keys. */
  readonly protocol: UpstreamProtocol | undefined;
  /** TWITTER_PROTOCOL as given. */
  readonly asked: UpstreamProtocol | undefined;
}

/**
 * The two pairs of X keys: TWITTER_CLIENT_ID/SECRET select OAuth 2.0,
 * TWITTER_CONSUMER_KEY/SECRET OAuth 1.0a. With both pairs (while moving from
 * one to the other) TWITTER_PROTOCOL says which one signs in.
 */
function readXKeys(env: EnvReader): XKeys {
  const { problems, read } = env;
  const consumerKey = read('TWITTER_CONSUMER_KEY');
  const consumerSecret = read('TWITTER_CONSUMER_SECRET');
  const clientId = read('TWITTER_CLIENT_ID');
  const clientSecret = read('TWITTER_CLIENT_SECRET');
  const pair = (key: string, secret: string, hasKey: boolean, hasSecret: boolean) => {
    if (hasKey && !hasSecret) problems.push(`${secret} is required when ${key} is set: set both, or neither for the sandbox`);
    if (!hasKey && hasSecret) problems.push(`${secret} is set but ${key} is not: set both, or neither for the sandbox`);
  };
  pair('TWITTER_CONSUMER_KEY', 'TWITTER_CONSUMER_SECRET', consumerKey !== undefined, consumerSecret !== undefined);
  pair('TWITTER_CLIENT_ID', 'TWITTER_CLIENT_SECRET', clientId !== undefined, clientSecret !== undefined);
  const askedRaw = read('TWITTER_PROTOCOL');
  let asked: UpstreamProtocol | undefined;
  if (askedRaw === 'oauth1' || askedRaw === 'oauth2') asked = askedRaw;
  else if (askedRaw !== undefined) problems.push(`TWITTER_PROTOCOL must be oauth2 or oauth1 (got "${askedRaw}")`);
  const has1 = consumerKey !== undefined;
  const has2 = clientId !== undefined;
  let protocol: UpstreamProtocol | undefined;
  if (has1 && has2) {
    if (askedRaw === undefined) {
      problems.push('TWITTER_CLIENT_ID and TWITTER_CONSUMER_KEY are both set: set TWITTER_PROTOCOL=oauth2 or TWITTER_PROTOCOL=oauth1 to say which one signs in');
    }
    protocol = asked;
  } else if (has1 || has2) {
    protocol = has2 ? 'oauth2' : 'oauth1';
    if (asked !== undefined && asked !== protocol) {
      problems.push(
        asked === 'oauth2'
          ? "TWITTER_PROTOCOL=oauth2 needs TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET (X's OAuth 2.0 Client ID and Client Secret); only the OAuth 1.0a pair is set: add the OAuth 2.0 pair, or remove TWITTER_PROTOCOL"
          : "TWITTER_PROTOCOL=oauth1 needs TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET (X's API Key and Secret); only the OAuth 2.0 pair is set: add the OAuth 1.0a pair, or remove TWITTER_PROTOCOL",
      );
    }
  }
  return { consumerKey, consumerSecret, clientId, clientSecret, protocol, asked };
}

/**
 * Whether roost serves its own Twitter stand-in. It signs anyone in as a
 * made-up user, so it never starts by accident: without X keys it is on only
 * where nothing says this is a real deployment (plain-http PUBLIC_URL,
 * embedded database), or where SANDBOX=true asks for it; never in production.
 */
function readSandbox(env: EnvReader, given: { keys: XKeys; publicUrl: URL | undefined; databaseUrl: string | undefined }): boolean {
  const { problems } = env;
  const asked = env.read('SANDBOX') === undefined ? undefined : env.boolean('SANDBOX', false);
  const { keys } = given;
  const hasKey = [keys.consumerKey, keys.consumerSecret, keys.clientId, keys.clientSecret].some((value) => value !== undefined);
  if (asked === true && hasKey) {
    const named = keys.clientId !== undefined ? 'TWITTER_CLIENT_ID' : 'TWITTER_CONSUMER_KEY';
    problems.push(`SANDBOX=true and ${named} are both set: remove SANDBOX to sign in with X, or the X keys to run the sandbox`);
  }
  if (asked === false && !hasKey) problems.push(`${X_KEYS} are required when SANDBOX=false`);
  const sandbox = asked ?? !hasKey;
  if (!sandbox || hasKey) return false;
  if (env.production) {
    problems.push(`X keys are required when NODE_ENV=production (the sandbox provider never runs in production): set ${X_KEYS}`);
  } else if (asked === undefined && (given.publicUrl?.protocol === 'https:' || given.databaseUrl !== undefined)) {
    const why = given.publicUrl?.protocol === 'https:' ? 'PUBLIC_URL is https' : 'DATABASE_URL is set';
    problems.push(
      `No X keys are set, so roost would run its sandbox, which signs anyone in as a made-up user; it does not do that on its own when ${why}. ` +
        `Set ${X_KEYS}, or SANDBOX=true to run the sandbox on purpose`,
    );
  }
  return true;
}

/** TWITTER_API_URL and TWITTER_AUTHORIZE_URL: X's own by default, the sandbox's under PUBLIC_URL, refused with the sandbox. */
function readXUrls(env: EnvReader, sandbox: boolean, publicUrl: string, protocol: UpstreamProtocol) {
  const { problems, read, httpUrl } = env;
  const sandboxBase = `${publicUrl}${SANDBOX_PATH}`;
  const url = (name: string, raw: string | undefined, fallback: string, sandboxUrl: string) => {
    if (raw === undefined) return sandbox ? sandboxUrl : fallback;
    if (sandbox) {
      problems.push(`${name} needs X keys, ${X_KEYS} (without them roost serves its own sandbox)`);
      return sandboxUrl;
    }
    const parsed = httpUrl(name, raw);
    return parsed ? parsed.href.replace(/\/+$/, '') : fallback;
  };
  const apiUrl = url('TWITTER_API_URL', read('TWITTER_API_URL'), 'https://api.x.com', sandboxBase);
  const authorizeUrl = url('TWITTER_AUTHORIZE_URL', read('TWITTER_AUTHORIZE_URL'), 'https://x.com/i/oauth2/authorize', `${sandboxBase}${SANDBOX_AUTHORIZE_PATH}`);
  if (!sandbox && protocol === 'oauth1' && read('TWITTER_AUTHORIZE_URL') !== undefined && read('TWITTER_CLIENT_ID') === undefined) {
    problems.push('TWITTER_AUTHORIZE_URL is used only by OAuth 2.0: set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET, or remove it');
  }
  return { apiUrl, authorizeUrl };
}

function readEmailMode(env: EnvReader): EmailMode {
  const raw = env.read('TWITTER_EMAIL') ?? 'optional';
  if ((EMAIL_MODES as readonly string[]).includes(raw)) return raw as EmailMode;
  env.problems.push(`TWITTER_EMAIL must be one of ${EMAIL_MODES.join(', ')} (got "${raw}")`);
  return 'optional';
}

/**
 * RETURN_TO_URLS: the exact URLs roost may send a browser back to. The
 * sandbox registers its own page. RETURN_TO_ORIGINS, which allowed any path
 * of an origin, is refused with what to write instead.
 */
function readReturnToUrls(env: EnvReader, sandboxPage: string | null | undefined): RedirectUri[] {
  const { problems } = env;
  const legacy = env.read('RETURN_TO_ORIGINS');
  if (legacy !== undefined) {
    const example = legacy.split(',').map((item) => `${item.trim().replace(/\/+$/, '')}/<the page that receives the sign-in>`).join(',');
    const instead = env.read('RETURN_TO_URLS') === undefined ? `, and set RETURN_TO_URLS to the exact URLs your app passes as return_to: RETURN_TO_URLS=${example}` : ' (RETURN_TO_URLS is already set)';
    problems.push(
      `RETURN_TO_ORIGINS is no longer supported: roost sends tokens only to registered redirect URIs. Remove RETURN_TO_ORIGINS${instead}. The browser API's CORS origins follow RETURN_TO_URLS unless CORS_ORIGINS lists them`,
    );
  }
  const urls: RedirectUri[] = [];
  for (const item of (env.read('RETURN_TO_URLS') ?? '').split(',')) {
    const raw = item.trim();
    if (raw === '') continue;
    const parsed = parseRedirectUri(raw);
    if (!parsed.ok) problems.push(`RETURN_TO_URLS entry "${raw}" ${parsed.reason}`);
    else if (!urls.some((uri) => uri.href === parsed.uri.href)) urls.push(parsed.uri);
  }
  if (typeof sandboxPage === 'string' && !urls.some((uri) => uri.href === sandboxPage)) {
    const page = parseRedirectUri(sandboxPage);
    if (page.ok) urls.push(page.uri);
  }
  if (urls.length === 0 && legacy === undefined && sandboxPage !== null) {
    problems.push('RETURN_TO_URLS must list at least one URL (comma-separated): the exact page of your app that receives the sign-in, such as https://app.example.com/signed-in');
  }
  return urls;
}

/**
 * CORS_ORIGINS: bare origins, exactly those; by default the origins of
 * RETURN_TO_URLS and of public OpenID Connect clients' redirect URIs, where a loopback entry's host is allowed on any port as its
 * redirect is (a dev server that moved to the next free port still works).
 */
function readCorsOrigins(env: EnvReader, returnToUrls: readonly RedirectUri[]): Pick<Config, 'corsOrigins' | 'corsLoopbackHosts'> {
  const raw = env.read('CORS_ORIGINS');
  if (raw === undefined) {
    return {
      corsOrigins: [...new Set(returnToUrls.map((uri) => uri.origin))],
      corsLoopbackHosts: [...new Set(returnToUrls.filter((uri) => uri.loopback).map((uri) => uri.hostname))],
    };
  }
  const origins = new Set<string>();
  for (const item of raw.split(',')) {
    const entry = item.trim();
    if (entry === '') continue;
    const parsed = env.httpUrl('CORS_ORIGINS', entry);
    if (!parsed) continue;
    if (parsed.href.replace(/\/+$/, '') !== parsed.origin) {
      env.problems.push(`CORS_ORIGINS entries must be bare origins like https://app.example.com (got "${entry}")`);
      continue;
    }
    origins.add(parsed.origin);
  }
  return { corsOrigins: [...origins], corsLoopbackHosts: [] };
}

/** npm run migrate: the database only. */
export function loadMigrateConfig(env: Env): DatabaseCommandConfig {
  const reader = envReader(env);
  return reader.finish(readDatabase(reader));
}

/**
 * npm run keys: the database, ENCRYPTION_KEY and the key settings. With
 * DATABASE_URL the keys it writes are read by every replica, so they must be
 * sealed with the replicas' ENCRYPTION_KEY, never with a key of this machine's DATA_DIR.
 */
export function loadKeysCommandConfig(env: Env): KeysCommandConfig {
  const reader = envReader(env);
  const database = readDatabase(reader);
  const encryption = readEncryptionKeys(reader);
  if (database.databaseUrl !== undefined && reader.read('ENCRYPTION_KEY') === undefined && !reader.production) {
    reader.problems.push(
      'ENCRYPTION_KEY is required when DATABASE_URL is set: the keys this command writes must open on every replica, so give it the ENCRYPTION_KEY they run with',
    );
  }
  // With a webhook set, the audit events of a key change go to its outbox too; the registered clients say which ID token keys are kept.
  return reader.finish({ ...database, ...encryption, ...readSigningKeys(reader), webhook: readOperatorTools(reader).webhook, oidc: readOidcClients(reader, undefined) });
}

/** npm run sessions: the database and the session times. */
export function loadSessionsCommandConfig(env: Env): SessionsCommandConfig {
  const reader = envReader(env);
  return reader.finish({ ...readDatabase(reader), ...readSessionTimes(reader) });
}

export function loadConfig(env: Env): Config {
  const reader = envReader(env);
  const { problems, read, integer, boolean, httpUrl, production } = reader;
  const withoutTrailingSlash = (url: URL) => url.href.replace(/\/+$/, '');

  const port = integer('PORT', 3000, 0, 65535);
  const host = read('HOST') ?? 'localhost';

  const publicRaw = read('PUBLIC_URL') ?? `http://localhost:${port}`;
  const publicParsed = httpUrl('PUBLIC_URL', publicRaw);
  const publicUrl = publicParsed ? withoutTrailingSlash(publicParsed) : publicRaw;
  // Over plain http the flow cookie cannot be Secure nor __Host-, and no HSTS is sent: fine on this machine, not for users.
  if (production && publicParsed?.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(publicParsed.hostname)) {
    problems.push(
      `PUBLIC_URL is http:// with NODE_ENV=production (${publicUrl}): the flow cookie cannot be Secure and no HSTS is sent. Use https:// (roost behind a TLS-terminating proxy), or http://127.0.0.1 or localhost for a trial on this machine`,
    );
  }

  const keys = readXKeys(reader);
  const database = readDatabase(reader);
  const sandbox = readSandbox(reader, { keys, publicUrl: publicParsed, databaseUrl: database.databaseUrl });
  // Without keys the sandbox speaks OAuth 1.0a, or 2.0 when TWITTER_PROTOCOL asks.
  const protocol = keys.protocol ?? keys.asked ?? 'oauth1';
  const xUrls = readXUrls(reader, sandbox, publicUrl, protocol);

  const redisUrl = read('REDIS_URL');
  const redisTarget = redisUrl === undefined ? undefined : parseRedisUrl(redisUrl);
  if (redisTarget && !redisTarget.ok) problems.push(`REDIS_URL ${redisTarget.reason}`);
  const redisKeyPrefix = read('REDIS_KEY_PREFIX') ?? 'roost:';
  if (!/^[\x21-\x7e]{1,64}$/.test(redisKeyPrefix)) {
    problems.push('REDIS_KEY_PREFIX must be 1 to 64 visible ASCII characters, such as roost:');
  }
  const metricsToken = read('METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{32,}$/.test(metricsToken)) {
    problems.push('METRICS_TOKEN must be at least 32 visible ASCII characters (no spaces)');
  }

  // The sandbox registers its page at PUBLIC_URL; with PUBLIC_URL wrong, that one problem is reported, not a second one here.
  const sandboxPage = sandbox && !production ? (publicParsed ? `${withoutTrailingSlash(publicParsed)}/` : null) : undefined;
  const returnToUrls = readReturnToUrls(reader, sandboxPage);
  // The zero-configuration sandbox (no X keys, the embedded database) registers a demo client for its landing page.
  const demoRedirect = sandboxPage && database.databaseUrl === undefined ? sandboxPage : undefined;
  const oidc = readOidcClients(reader, demoRedirect);
  // A public client runs in the browser: its pages call /token and /userinfo with fetch().
  const publicClientPages = (oidc?.clientList ?? []).filter((client) => client.type === 'public').flatMap((client) => client.redirectUris);
  const cors = readCorsOrigins(reader, [...returnToUrls, ...publicClientPages]);
  // A registered client's access tokens are for /userinfo: roost's own must never pass for one.
  if (oidc !== undefined && read('JWT_AUDIENCE') === `${publicUrl}/userinfo`) {
    problems.push('JWT_AUDIENCE must not be PUBLIC_URL/userinfo: that is the audience of OpenID Connect clients\' access tokens; name your own API instead');
  }

  const cookieSecret = read('COOKIE_SECRET');
  if (cookieSecret !== undefined && cookieSecret.length < 32) {
    problems.push('COOKIE_SECRET must be at least 32 characters');
  }
  if (cookieSecret === undefined && production) {
    problems.push('COOKIE_SECRET is required when NODE_ENV=production');
  }
  const encryption = readEncryptionKeys(reader);

  const sessionTimes = readSessionTimes(reader);
  const sessionPurgeInterval = integer('SESSION_PURGE_INTERVAL', 3600, 0, 86400);
  if (sessionPurgeInterval !== 0 && sessionPurgeInterval < 60) {
    problems.push(`SESSION_PURGE_INTERVAL must be 0 (off) or from 60 to 86400 seconds (got "${sessionPurgeInterval}")`);
  }
  const trustProxy = parseTrustProxy(read('TRUST_PROXY'), problems);

  const logRaw = read('LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logRaw)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logRaw}")`);
  }

  const signingKeys = readSigningKeys(reader);
  const operatorTools = readOperatorTools(reader);

  return reader.finish<Config>({
    ...operatorTools,
    ...database,
    ...encryption,
    ...sessionTimes,
    ...signingKeys,
    production,
    port,
    host,
    publicUrl,
    callbackUrl: `${publicUrl}/login/callback`,
    twitter: {
      protocol,
      ...xUrls,
      consumerKey: keys.consumerKey ?? SANDBOX_CONSUMER_KEY,
      consumerSecret: keys.consumerSecret ?? SANDBOX_CONSUMER_SECRET,
      clientId: keys.clientId ?? SANDBOX_CLIENT_ID,
      clientSecret: keys.clientSecret ?? SANDBOX_CLIENT_SECRET,
      timeoutMs: integer('TWITTER_TIMEOUT_MS', 5000, 100, 60000),
      email: readEmailMode(reader),
    },
    sandbox,
    databasePoolSize: integer('DATABASE_POOL_SIZE', 10, 1, 1000),
    databasePreparedStatements: boolean('DATABASE_PREPARED_STATEMENTS', true),
    redisUrl,
    returnToUrls,
    ...cors,
    jwtAudience: read('JWT_AUDIENCE'),
    flowTtl: integer('LOGIN_FLOW_TTL', 600, 60, 3600),
    refreshReuseGrace: integer('REFRESH_REUSE_GRACE', 10, 0, 60),
    sessionPurgeInterval,
    cookieSecret,
    logLevel: logRaw as LogLevel,
    migrateOnStart: boolean('MIGRATE_ON_START', true),
    redisKeyPrefix,
    metricsToken,
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10000, 100, 600000),
    overloadMaxEventLoopDelayMs: integer('OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 500, 0, 60000),
    overloadMaxInFlight: integer('OVERLOAD_MAX_IN_FLIGHT', 1000, 0, 1_000_000),
    loginRateLimit: integer('LOGIN_RATE_LIMIT', 60, 0, 1_000_000),
    loginRateLimitWindow: integer('LOGIN_RATE_LIMIT_WINDOW', 60, 1, 86400),
    tokenRateLimit: integer('TOKEN_RATE_LIMIT', 120, 0, 1_000_000),
    tokenRateLimitWindow: integer('TOKEN_RATE_LIMIT_WINDOW', 60, 1, 86400),
    trustProxy,
    oidc,
  });
}

/**
 * OIDC_CLIENTS (inline JSON) or OIDC_CLIENTS_FILE (JSON or YAML, by the
 * file's extension); never both. Every problem names the client and field.
 */
function readOidcClients(env: EnvReader, demoRedirect: string | undefined): OidcConfig | undefined {
  const { problems, read } = env;
  const refuse = (...found: string[]): undefined => {
    problems.push(...found);
    return undefined;
  };
  const inline = read('OIDC_CLIENTS');
  const file = read('OIDC_CLIENTS_FILE');
  if (inline !== undefined && file !== undefined) return refuse('OIDC_CLIENTS and OIDC_CLIENTS_FILE are both set: keep one (the inline list, or the file)');
  let clients: readonly OidcClient[];
  if (inline !== undefined) {
    const parsed = parseOidcClients(inline, 'OIDC_CLIENTS', 'json');
    if (!parsed.ok) return refuse(...parsed.problems);
    clients = parsed.clients;
  } else if (file !== undefined) {
    const extension = extname(file).toLowerCase();
    const format = extension === '.json' ? 'json' : extension === '.yaml' || extension === '.yml' ? 'yaml' : undefined;
    if (format === undefined) return refuse(`OIDC_CLIENTS_FILE must end in .json, .yaml or .yml, which says how it is written (got "${file}")`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return refuse(`OIDC_CLIENTS_FILE "${file}" cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const parsed = parseOidcClients(text, 'OIDC_CLIENTS_FILE', format);
    if (!parsed.ok) return refuse(...parsed.problems);
    clients = parsed.clients;
  } else if (demoRedirect !== undefined) {
    const demo = checkClientEntry({ client_id: DEMO_CLIENT_ID, name: 'roost demo', redirect_uris: [demoRedirect] }).client;
    if (demo === undefined) return undefined;
    clients = [demo];
  } else {
    return undefined;
  }
  const asked = new Set<IdTokenAlg>([DEFAULT_ID_TOKEN_ALG, ...clients.map((client) => client.idTokenAlg)]);
  return Object.freeze({ clients: staticClientStore(clients), clientList: clients, idTokenAlgs: ID_TOKEN_ALGS.filter((alg) => asked.has(alg)) });
}

/**
 * The operator's tools: the admin API's keys, the audit log's retention,
 * the signed webhooks and the sign-in hook. Secrets are checked for their
 * form here and never repeated in a message.
 */
function readOperatorTools(env: EnvReader): Pick<Config, 'admin' | 'auditRetention' | 'webhook' | 'signInHook'> {
  const { problems, read, integer, boolean, httpUrl } = env;
  const keys = (read('ADMIN_API_KEYS') ?? '').split(',').map((key) => key.trim()).filter(Boolean);
  keys.forEach((key, index) => {
    if (!/^[\x21-\x7e]{32,}$/.test(key)) {
      problems.push(`ADMIN_API_KEYS: key ${index + 1} must be at least 32 visible ASCII characters with no spaces or commas (make one with: openssl rand -hex 32)`);
    }
  });
  const secret = (name: string) => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    const parsed = parseWebhookSecret(raw);
    if (!parsed.ok) problems.push(`${name} ${parsed.problem}`);
    return parsed.ok ? parsed.key : undefined;
  };
  const endpoint = (name: string) => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    const url = httpUrl(name, raw);
    if (url && env.production && url.protocol !== 'https:') problems.push(`${name} must be https:// with NODE_ENV=production: what roost sends there is signed, not secret`);
    return url?.href;
  };
  const webhookUrl = endpoint('WEBHOOK_URL');
  const webhookKey = secret('WEBHOOK_SECRET');
  if (read('WEBHOOK_URL') !== undefined && read('WEBHOOK_SECRET') === undefined) {
    problems.push('WEBHOOK_SECRET is required with WEBHOOK_URL, so receivers can check where events come from (make one with: echo "whsec_$(openssl rand -base64 32)")');
  }
  const hookUrl = endpoint('SIGN_IN_HOOK_URL');
  const hookKey = secret('SIGN_IN_HOOK_SECRET') ?? webhookKey;
  if (read('SIGN_IN_HOOK_URL') !== undefined && read('SIGN_IN_HOOK_SECRET') === undefined && read('WEBHOOK_SECRET') === undefined) {
    problems.push('SIGN_IN_HOOK_SECRET (or WEBHOOK_SECRET) is required with SIGN_IN_HOOK_URL: roost signs each call to the hook with it');
  }
  const webhookMaxAge = integer('WEBHOOK_MAX_AGE', 86400, 60, 30 * 86400);
  const hookTimeoutMs = integer('SIGN_IN_HOOK_TIMEOUT_MS', 2000, 100, 30000);
  const failOpen = boolean('SIGN_IN_HOOK_FAIL_OPEN', false);
  return {
    admin: { keys, rateLimit: integer('ADMIN_RATE_LIMIT', 60, 0, 1_000_000), rateLimitWindow: integer('ADMIN_RATE_LIMIT_WINDOW', 60, 1, 86400) },
    auditRetention: integer('AUDIT_RETENTION', 90 * 86400, 3600, 10 * 365 * 86400),
    webhook: webhookUrl !== undefined && webhookKey !== undefined ? { url: webhookUrl, key: webhookKey, maxAge: webhookMaxAge } : undefined,
    signInHook: hookUrl !== undefined && hookKey !== undefined ? { url: hookUrl, key: hookKey, timeoutMs: hookTimeoutMs, failOpen } : undefined,
  };
}

/**
 * TRUST_PROXY: unset or false trusts no proxy (X-Forwarded-For is ignored);
 * a number trusts that many hops; otherwise a comma-separated list of proxy
 * addresses or CIDR ranges. `true` is refused: it believes the left-most
 * address, which any client writes itself.
 */
function parseTrustProxy(raw: string | undefined, problems: string[]): false | number | string[] {
  if (raw === undefined || ['false', '0', 'no'].includes(raw.toLowerCase())) return false;
  if (['true', 'yes'].includes(raw.toLowerCase())) {
    problems.push(
      `TRUST_PROXY=${raw} would believe whatever X-Forwarded-For a client sends: write the number of proxies in front of roost (such as 1), or their addresses or CIDR ranges (such as 10.0.0.0/8)`,
    );
    return false;
  }
  if (/^\d{1,2}$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const bad = entries.filter((entry) => !isProxyAddress(entry));
  if (bad.length > 0 || entries.length === 0) {
    problems.push(
      `TRUST_PROXY must be false, a hop count from 1 to 99, or comma-separated proxy addresses or CIDR ranges such as 10.0.0.0/8 (got "${raw}"${bad.length > 0 ? `; not an address or range: ${bad.join(', ')}` : ''})`,
    );
    return false;
  }
  return entries;
}

/** An IP address, a CIDR range with a prefix that fits it, or one of proxy-addr's names. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

/** A 32-byte key from 64 hex digits or base64/base64url; undefined when it is anything else. */
export function parseKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const bytes = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object' && !Buffer.isBuffer(inner)) deepFreeze(inner);
  }
  return Object.freeze(value);
}
