// The floor: what each operation cannot do without, and nothing else, on
// the same libraries and servers as roost. Bare node:http answers the same
// URLs the driver calls; the calls to Twitter are signed (HMAC-SHA1) and
// sent with node:http; each SQL statement roost's code sends for the
// operation is one round trip on a bare pg pool (floor-statements.ts); the
// Redis commands roost sends (a rate-limit count per request, the flow and
// the code kept, taken or claimed) go out on one bare ioredis connection;
// an access token is one ES256 signature with node:crypto. No framework, no
// schema validation, no logging, no metrics, no sealing of the Twitter
// credentials: the benchmark sets roost's cost beside this.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { hashRefreshToken, nextRefreshToken, refreshFamily } from '../src/sessions/refresh-tokens.js';
import { recordFloorStatements } from './floor-statements.js';
import { createFloorTokens, type TokenUser } from './floor-tokens.js';
import { createFloorTwitter } from './floor-twitter.js';
import { parametersOf, type StatementTemplate } from './statements.js';

export interface FloorOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly providerUrl: string;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /** The one return_to the floor accepts, as roost accepts only registered ones. */
  readonly returnTo: string;
  /** roost's DATABASE_POOL_SIZE default. */
  readonly poolSize: number;
}

export interface Floor {
  readonly server: Server;
  /** Called once listening: the issuer its tokens name. */
  setPublicUrl(url: string): void;
  close(): Promise<void>;
}

const ACCESS_TTL_SECONDS = 900;
const SESSION_TTL_SECONDS = 30 * 86400;
const IDLE_SECONDS = 7 * 86400;
const SESSION_CHECK_CACHE_MS = 5000;
const BODY_LIMIT = 4096;
const KEY_PREFIX = 'bench-floor:';

// The rate limiter's count: one script call per request, as @fastify/rate-limit's Redis store makes.
const COUNT_SCRIPT = `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n`;
// A code is claimed once and a mark left in its place; the redemption then records its session there.
const CLAIM_SCRIPT = `local v = redis.call('GET', KEYS[1]) if not v or string.byte(v, 1) == 0 then return false end redis.call('SET', KEYS[1], '\\0claimed', 'EX', ARGV[1]) return v`;
const SETTLE_SCRIPT = `if redis.call('GET', KEYS[1]) ~= '\\0claimed' then return 0 end redis.call('SET', KEYS[1], '\\0' .. ARGV[1], 'KEEPTTL') return 1`;

interface FloorRedis extends Redis {
  floorCount(key: string, windowMs: number): Promise<number>;
  floorClaim(key: string, markTtlSeconds: number): Promise<string | null>;
  floorSettle(key: string, sessionId: string): Promise<number>;
}

class Refused extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

export async function createFloor(options: FloorOptions): Promise<Floor> {
  const statements = await recordFloorStatements();
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  const redis = new Redis(options.redisUrl, { keyPrefix: KEY_PREFIX, lazyConnect: true }) as FloorRedis;
  redis.defineCommand('floorCount', { numberOfKeys: 1, lua: COUNT_SCRIPT });
  redis.defineCommand('floorClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
  redis.defineCommand('floorSettle', { numberOfKeys: 1, lua: SETTLE_SCRIPT });
  await redis.connect();
  const twitter = createFloorTwitter(options);
  const tokens = createFloorTokens();
  const chainKey = randomBytes(32);
  const sessionChecks = new Map<string, number>();
  let publicUrl = '';

  const query = async <R extends Record<string, unknown>>(template: StatementTemplate, values: Record<string, unknown>): Promise<R | undefined> =>
    (await pool.query<R>(template.sql, parametersOf(template, values))).rows[0];
  const counted = async (name: string, ip: string) => void (await redis.floorCount(`${name}:${ip}`, 60_000));
  const twitterCall = (...args: Parameters<typeof twitter.call>) =>
    twitter.call(...args).catch(() => {
      throw new Refused(502);
    });
  const accessToken = (user: TokenUser, sessionId: string, nowMs: number) => tokens.issue(publicUrl, user, sessionId, nowMs, ACCESS_TTL_SECONDS);

  async function login(url: URL, ip: string, response: ServerResponse): Promise<void> {
    const returnTo = url.searchParams.get('return_to');
    if (returnTo !== options.returnTo) throw new Refused(400);
    await counted('login', ip);
    const requestToken = await twitterCall('POST', '/oauth/request_token', undefined, { oauth_callback: `${publicUrl}/login/callback` });
    const binding = randomBytes(32).toString('base64url');
    const record: FlowRecord = { returnTo, challenge: url.searchParams.get('code_challenge'), secret: requestToken.get('oauth_token_secret') ?? '', binding: digest(binding) };
    const token = requestToken.get('oauth_token') ?? '';
    await redis.set(`flow:${digest(token)}`, JSON.stringify(record), 'EX', 600);
    response.writeHead(302, {
      location: `${options.providerUrl}/oauth/authenticate?oauth_token=${encodeURIComponent(token)}`,
      'set-cookie': `roost_flow=${binding}; Path=/login; HttpOnly; SameSite=Lax`,
      'content-length': 0,
    });
    response.end();
  }

  async function callback(url: URL, ip: string, cookie: string | undefined, userAgent: string | undefined, response: ServerResponse): Promise<void> {
    await counted('login', ip);
    const token = url.searchParams.get('oauth_token') ?? '';
    const stored = await redis.getdel(`flow:${digest(token)}`);
    if (stored === null) throw new Refused(400);
    const record = JSON.parse(stored) as FlowRecord;
    const binding = /(?:^|;\s*)roost_flow=([^;]+)/.exec(cookie ?? '')?.[1];
    if (binding === undefined || digest(binding) !== record.binding) throw new Refused(400);
    const access = await twitterCall('POST', '/oauth/access_token', { token, secret: record.secret }, { oauth_verifier: url.searchParams.get('oauth_verifier') ?? '' });
    const credentials = { token: access.get('oauth_token') ?? '', secret: access.get('oauth_token_secret') ?? '' };
    const profile = JSON.parse(
      (await twitterCall('GET', '/1.1/account/verify_credentials.json', credentials, {}, { include_email: 'true', skip_status: 'true', include_entities: 'false' })).get('') ?? '',
    ) as { id_str: string; screen_name: string; name: string; profile_image_url_https?: string; email?: string };
    const user = (await query(statements.upsertUser, {
      twitterId: profile.id_str,
      screenName: profile.screen_name,
      name: profile.name,
      picture: profile.profile_image_url_https ?? null,
      email: profile.email ?? null,
      token: credentials.token,
      secret: credentials.secret,
    })) as UserRow;
    if (record.challenge !== null) {
      const code = randomBytes(32).toString('base64url');
      await redis.set(`code:${digest(code)}`, JSON.stringify({ userId: user.id, challenge: record.challenge, redirectUri: record.returnTo }), 'EX', 60);
      return redirect(response, `${record.returnTo}?code=${code}`);
    }
    const { tokens } = await openSession(user, ip, userAgent);
    const fragment = new URLSearchParams({ access_token: tokens.access_token, token_type: 'Bearer', expires_in: String(ACCESS_TTL_SECONDS), refresh_token: tokens.refresh_token });
    redirect(response, `${record.returnTo}#${fragment}`);
  }

  async function openSession(user: UserRow, ip: string, userAgent: string | undefined) {
    const refreshToken = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session = (await query(statements.insertSession, {
      userId: user.id,
      refreshHash: hashRefreshToken(refreshToken),
      refreshFamily: refreshFamily(refreshToken),
      now: new Date(now),
      expiresAt: new Date(now + SESSION_TTL_SECONDS * 1000),
      userAgent: userAgent ?? null,
      ip,
    })) as { id: string };
    return { sessionId: session.id, tokens: { access_token: accessToken(user, session.id, now), token_type: 'Bearer', expires_in: ACCESS_TTL_SECONDS, refresh_token: refreshToken } };
  }

  async function token(body: URLSearchParams, ip: string, userAgent: string | undefined): Promise<unknown> {
    await counted('token', ip);
    const grant = body.get('grant_type');
    if (grant === 'refresh_token') {
      const presented = body.get('refresh_token') ?? '';
      const next = nextRefreshToken(chainKey, presented);
      const now = Date.now();
      const row = await query<UserRow & { rotated_id: string | null; user_id: string; twitter_id: string | null }>(statements.rotate, {
        presentedHash: hashRefreshToken(presented),
        nextHash: hashRefreshToken(next),
        family: refreshFamily(presented),
        now: new Date(now),
        expiresAfter: new Date(now),
        lastUsedAfter: new Date(now - IDLE_SECONDS * 1000),
      });
      if (!row?.rotated_id) throw new Refused(400);
      const user = { ...row, id: row.user_id } as UserRow;
      return { access_token: accessToken(user, row.rotated_id, now), token_type: 'Bearer', expires_in: ACCESS_TTL_SECONDS, refresh_token: next };
    }
    if (grant === 'authorization_code') {
      const code = body.get('code') ?? '';
      const claimed = await redis.floorClaim(`code:${digest(code)}`, 600);
      if (claimed === null) throw new Refused(400);
      const grantRecord = JSON.parse(claimed) as { userId: string; challenge: string; redirectUri: string };
      if (body.get('redirect_uri') !== grantRecord.redirectUri || digest(body.get('code_verifier') ?? '') !== grantRecord.challenge) throw new Refused(400);
      const user = (await query(statements.findUser, { userId: grantRecord.userId })) as UserRow;
      const { sessionId, tokens } = await openSession(user, ip, userAgent);
      if ((await redis.floorSettle(`code:${digest(code)}`, sessionId)) !== 1) throw new Refused(400);
      return tokens;
    }
    throw new Refused(400);
  }

  async function me(authorization: string | undefined): Promise<unknown> {
    const now = Date.now();
    const claims = tokens.verify(publicUrl, authorization?.startsWith('Bearer ') ? authorization.slice(7) : '', now);
    if (!claims) throw new Refused(401);
    if ((sessionChecks.get(claims.sid) ?? 0) <= now) {
      const state = await query<{ revoked_at: Date | null; expires_at: Date; last_used_at: Date }>(statements.sessionState, { sessionId: claims.sid });
      if (!state || state.revoked_at !== null || state.expires_at.getTime() <= now || state.last_used_at.getTime() + IDLE_SECONDS * 1000 <= now) throw new Refused(401);
      sessionChecks.set(claims.sid, now + SESSION_CHECK_CACHE_MS);
    }
    const user = await query(statements.findUser, { userId: claims.sub });
    if (!user) throw new Refused(401);
    return user;
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      const status = error instanceof Refused ? error.status : 500;
      if (!response.headersSent) response.writeHead(status, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
    });
  });

  async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://floor');
    const ip = incoming.socket.remoteAddress ?? 'gone';
    if (incoming.method === 'GET' && url.pathname === '/login') return login(url, ip, response);
    if (incoming.method === 'GET' && url.pathname === '/login/callback') return callback(url, ip, incoming.headers.cookie, incoming.headers['user-agent'], response);
    if (incoming.method === 'POST' && url.pathname === '/token') return json(response, await token(new URLSearchParams(await readBody(incoming)), ip, incoming.headers['user-agent']));
    if (incoming.method === 'GET' && url.pathname === '/me') return json(response, await me(incoming.headers.authorization));
    if (incoming.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
      return void response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(tokens.jwks) }).end(tokens.jwks);
    }
    throw new Refused(404);
  }

  return {
    server,
    setPublicUrl: (url) => (publicUrl = url),
    close: async () => {
      twitter.close();
      await Promise.all([pool.end(), redis.quit()]);
    },
  };
}

interface FlowRecord {
  readonly returnTo: string;
  /** The PKCE challenge of the code mode; null in the fragment mode. */
  readonly challenge: string | null;
  readonly secret: string;
  readonly binding: string;
}

type UserRow = TokenUser & Record<string, unknown>;

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(302, { location, 'content-length': 0 }).end();
}

function json(response: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) }).end(body);
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function readBody(incoming: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    incoming.setEncoding('utf8');
    incoming.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > BODY_LIMIT) reject(new Refused(413));
    });
    incoming.on('end', () => resolve(text));
    incoming.on('error', reject);
  });
}
