// POST /token while Redis is away: a refresh needs only Postgres and goes
// through; redeeming an authorization code needs Redis (the code lives
// there) and answers 503 store_unavailable, and the code still works once
// Redis is back.
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { startDependencyProxies } from '../helpers/dependency-proxies.js';
import { signIn } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const { redis, databaseUrl, redisUrl } = await startDependencyProxies(t);
const roost = await startRoost(t, { env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } });
// One of the redirect URIs the test roost registers.
const RETURN_TO = `${APP_ORIGIN}/cb`;

async function token(form: Record<string, string>) {
  const response = await fetch(`${roost.url}/token`, { method: 'POST', body: new URLSearchParams(form) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

t.test('Redis away: a code answers 503 store_unavailable, a refresh goes through; the code works after', async (t) => {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const callback = await signIn(new Browser(), roost, { returnTo: RETURN_TO, loginQuery: { code_challenge: challenge, code_challenge_method: 'S256' } });
  const code = new URL(callback.location ?? 'http://missing/').searchParams.get('code') as string;
  t.ok(code, 'a code');
  const refreshToken = fragmentOf((await signIn(new Browser(), roost)).location).get('refresh_token') as string;
  const redeem = () => token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: RETURN_TO });

  await redis.cut();
  const down = await redeem();
  t.equal(down.status, 503);
  t.match(down.json, { code: 'store_unavailable', status: 503 });
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  t.equal(refreshed.status, 200, 'a refresh needs no Redis');
  t.match(refreshed.json, { token_type: 'Bearer', refresh_token: /^[\w-]{43}$/ });

  await redis.restore();
  let again = await redeem();
  // ioredis reconnects in the background: the code waits for it, unspent.
  for (let attempt = 0; again.status === 503 && attempt < 50; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    again = await redeem();
  }
  t.equal(again.status, 200, 'the code survived the outage');
  t.match(again.json, { token_type: 'Bearer', access_token: /^ey/ });
  t.match((await redeem()).json, { error: 'invalid_grant' }, 'and then it is spent');
});
