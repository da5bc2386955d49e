// IPv6 clients are counted by /64: one subscriber usually holds a whole /64
// and can pick any address in it, so a per-address counter would give them
// 2^64 fresh ones. Over real HTTP, behind a trusted proxy that names the
// client in X-Forwarded-For; the session still records the full address.
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { consent } from '../helpers/flow.js';
import { APP_ORIGIN, startRoost, type Roost } from '../helpers/roost.js';

const LIMIT = { LOGIN_RATE_LIMIT: '3', LOGIN_RATE_LIMIT_WINDOW: '60', TRUST_PROXY: 'loopback' };
const loginPath = `/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`;

async function login(roost: Roost, client: string): Promise<number> {
  const response = await fetch(`${roost.url}${loginPath}`, { headers: { 'x-forwarded-for': client }, redirect: 'manual' });
  await response.arrayBuffer();
  return response.status;
}

async function logins(roost: Roost, clients: readonly string[]): Promise<number[]> {
  const seen: number[] = [];
  for (const client of clients) seen.push(await login(roost, client));
  return seen;
}

t.test('addresses in one /64 share a counter; other /64s have their own', async (t) => {
  const roost = await startRoost(t, { env: LIMIT });
  t.same(
    await logins(roost, ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:DB8:1:2:0:0:0:abcd', '2001:db8:1:2:1234:5678:9abc:def0']),
    [302, 302, 302, 429],
    'four addresses of 2001:db8:1:2::/64, however written, are one client',
  );
  t.same(await logins(roost, ['2001:db8:1:3::1', '2001:db8:1::1', '2001:db8:2:2::1']), [302, 302, 302], 'the neighbouring /64s are not held back');
  t.same(await logins(roost, ['2001:db8:1:3::2', '2001:db8:1:3::3']), [302, 302], 'and fill their own counter');
  t.equal(await login(roost, '2001:db8:1:3:ffff::1'), 429, 'to the same limit');
});

t.test('IPv4 addresses are counted one by one, written plain or IPv4-mapped', async (t) => {
  const roost = await startRoost(t, { env: LIMIT });
  t.same(await logins(roost, ['198.51.100.7', '::ffff:198.51.100.7', '198.51.100.7', '::ffff:c633:6407']), [302, 302, 302, 429], 'one client, in any of its forms');
  t.same(await logins(roost, ['198.51.100.8', '198.51.100.6']), [302, 302], 'not grouped with its neighbours');
});

t.test('the session records the full IPv6 address, not its /64', async (t) => {
  const roost = await startRoost(t, { env: { TRUST_PROXY: 'loopback' } });
  const browser = new Browser();
  const { callbackUrl } = await consent(browser, roost);
  const token = fragmentOf((await browser.get(callbackUrl, { 'x-forwarded-for': '2001:db8:1:2::abcd' })).location).get('access_token');
  const { sessions } = (await (await fetch(`${roost.url}/sessions`, { headers: { authorization: `Bearer ${token}` } })).json()) as { sessions: Array<{ ip: unknown }> };
  t.equal(sessions[0]?.ip, '2001:db8:1:2::abcd');
});
