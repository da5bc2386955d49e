// TRUST_PROXY decides whose X-Forwarded-For roost believes, over real HTTP
// from 127.0.0.1: unset, the header is ignored and every request is the
// socket's address; a hop count believes that many hops from the right,
// whatever their addresses; addresses or CIDR ranges skip the listed proxies
// and stop at the first address not listed. The client so found is what the
// rate limit counts and what a session records.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost, type Roost } from '../helpers/roost.js';

const LIMIT = { LOGIN_RATE_LIMIT: '3', LOGIN_RATE_LIMIT_WINDOW: '60' };
const loginPath = `/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;

async function login(roost: Roost, forwardedFor?: string): Promise<number> {
  const response = await fetch(`${roost.url}${loginPath}`, { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }, redirect: 'manual' });
  await response.arrayBuffer();
  return response.status;
}

/** A made-up address a client could put in front of the chain itself. */
const madeUp = () => `203.0.113.${randomBytes(1)[0]}`;

/** Signs in with X-Forwarded-For on the callback (the request that opens the session) and returns the address the session recorded. */
async function sessionIp(roost: Roost, forwardedFor: string): Promise<unknown> {
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, roost);
  const callback = await browser.get(callbackUrl, { 'x-forwarded-for': forwardedFor });
  const token = fragmentOf(callback.location).get('access_token');
  const response = await fetch(`${roost.url}/sessions`, { headers: { authorization: `Bearer ${token}` } });
  const { sessions } = (await response.json()) as { sessions: Array<{ ip: unknown }> };
  return sessions[0]?.ip;
}

t.test('the client address each setting finds, as the session records it', async (t) => {
  const chain = '203.0.113.9, 198.51.100.7';
  const throughLoopback = '198.51.100.7, 127.0.0.5';
  const cases: Array<[trustProxy: string | undefined, forwardedFor: string, client: string, why: string]> = [
    [undefined, chain, '127.0.0.1', 'unset: the header is ignored'],
    ['1', chain, '198.51.100.7', 'one hop: the right-most address'],
    ['1', throughLoopback, '127.0.0.5', 'one hop, whatever its address'],
    ['2', chain, '203.0.113.9', 'two hops: the second from the right'],
    ['127.0.0.1/8', chain, '198.51.100.7', 'a CIDR range: the first address outside it'],
    ['127.0.0.1/8', throughLoopback, '198.51.100.7', 'a CIDR range: proxies inside it are skipped'],
    ['loopback', throughLoopback, '198.51.100.7', 'loopback: the same as 127.0.0.1/8 and ::1'],
    ['127.0.0.1', chain, '198.51.100.7', 'one address'],
    ['10.0.0.0/8', chain, '127.0.0.1', 'a range the socket is not in: the header is ignored'],
  ];
  const roosts = new Map<string | undefined, Roost>();
  for (const [trustProxy, forwardedFor, client, why] of cases) {
    if (!roosts.has(trustProxy)) roosts.set(trustProxy, await startRoost(t, { env: { TRUST_PROXY: trustProxy } }));
    t.equal(await sessionIp(roosts.get(trustProxy) as Roost, forwardedFor), client, `TRUST_PROXY=${trustProxy ?? '(unset)'}, X-Forwarded-For: ${forwardedFor}: ${why}`);
  }
});

t.test('unset: every request counts as the socket address, whatever X-Forwarded-For says', async (t) => {
  const roost = await startRoost(t, { env: LIMIT });
  t.same([await login(roost, '198.51.100.7'), await login(roost, '198.51.100.8'), await login(roost, `${madeUp()}, 198.51.100.9`)], [302, 302, 302]);
  t.equal(await login(roost, '2001:db8::1'), 429, 'a fresh address in the header buys no fresh counter');
  t.equal(await login(roost), 429, 'nor does leaving it out');
});

for (const trustProxy of ['1', '127.0.0.1/8', 'loopback']) {
  t.test(`TRUST_PROXY=${trustProxy}: the rate limit counts per client, not per made-up address`, async (t) => {
    const roost = await startRoost(t, { env: { ...LIMIT, TRUST_PROXY: trustProxy } });
    const alice = '198.51.100.7';
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push(await login(roost, `${madeUp()}, ${alice}`));
    t.same(seen, [302, 302, 302, 429], 'a different made-up left-most address each time is still the same client');
    t.equal(await login(roost, alice), 429, 'and so is the client without one');
    t.equal(await login(roost, `${alice}, 198.51.100.8`), 302, 'the address next to the proxy is the client: 198.51.100.8 has its own counter');
    t.equal(await login(roost), 302, 'no header: the proxy itself, with its own counter');
  });
}
