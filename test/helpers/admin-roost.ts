// A real roost with the admin API on, for the tests of test/admin/: what
// test/helpers/roost.ts starts (its own schema or a shared one, a sandbox X,
// every response held to openapi.yaml, its logs kept), with ADMIN_API_KEYS
// set; and the calls those tests make.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { decodeJwt } from 'jose';
import { Browser, fragmentOf } from './browser.js';
import { signIn } from './flow.js';
import { startRoost, type Roost } from './roost.js';

/** Two keys, as during a rotation; each at least 32 characters, as ADMIN_API_KEYS wants. */
export const ADMIN_KEYS = [`adm1n-${randomBytes(24).toString('hex')}`, `adm1n-${randomBytes(24).toString('hex')}`] as const;

export interface AdminRoostOptions {
  readonly env?: Record<string, string | undefined>;
  /** Share another roost's database (its config.databaseUrl); pass its ENCRYPTION_KEY in env too. */
  readonly databaseUrl?: string;
  /** Share Redis keys with another instance, as replicas do. */
  readonly redisKeyPrefix?: string;
  /** Use another instance's sandbox X. */
  readonly providerUrl?: string;
}

export async function startAdminRoost(t: Pick<Test, 'teardown'>, options: AdminRoostOptions = {}): Promise<Roost> {
  return startRoost(t, {
    ...(options.databaseUrl !== undefined ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.redisKeyPrefix !== undefined ? { redisKeyPrefix: options.redisKeyPrefix } : {}),
    ...(options.providerUrl !== undefined ? { providerUrl: options.providerUrl } : {}),
    env: { ADMIN_API_KEYS: ADMIN_KEYS.join(','), ADMIN_RATE_LIMIT: '100000', ...options.env },
  });
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: any;
}

/** An admin API request with the first key (or `key`), a JSON body when given. */
export async function admin(roost: Roost, method: string, path: string, options: { body?: unknown; key?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? ADMIN_KEYS[0]}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${roost.url}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text === '' ? undefined : JSON.parse(text) };
}

/** A whole sign-in of sandbox user `user` (0 alice, 1 bob, 2 carol_no_email); its tokens. */
export async function signedIn(roost: Roost, user = 0) {
  const fragment = fragmentOf((await signIn(new Browser(), roost, { user })).location);
  const access = fragment.get('access_token');
  if (access === null) throw new Error(`no token: ${fragment.toString()}`);
  const claims = decodeJwt(access);
  return { access, refresh: fragment.get('refresh_token') as string, sub: claims.sub as string, sid: claims.sid as string };
}

/** GET /me with an access token: its status. */
export async function meStatus(roost: Roost, access: string): Promise<number> {
  const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${access}` } });
  await response.arrayBuffer();
  return response.status;
}

/** A refresh at POST /token: its status and body. */
export async function refresh(roost: Roost, refreshToken: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${roost.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
