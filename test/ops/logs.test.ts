// Logs: one JSON line per request with its id, route, status, duration and,
// once known, the user id; pretty lines only when stdout is a terminal.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Browser, fragmentOf } from '../helpers/browser.js';
import { signIn } from '../helpers/flow.js';
import { spawnRoost } from '../helpers/process.js';
import { createTestSchema, freePort, startRoost, TEST_REDIS_URL } from '../helpers/roost.js';
import { decodeJwt } from 'jose';

t.test('request lines carry id, route, status and duration, and the user id on /me', async (t) => {
  const roost = await startRoost(t);
  const token = fragmentOf((await signIn(new Browser(), roost)).location).get('access_token') as string;
  const response = await fetch(`${roost.url}/me`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-me-1' } });
  t.equal(response.status, 200);
  await fetch(`${roost.url}/me`, { headers: { authorization: 'Bearer not.a.token', 'x-request-id': 'trace-me-2' } });

  const line = roost.logs.find((entry) => entry.reqId === 'trace-me-1' && entry.msg === 'request');
  t.match(line, { method: 'GET', route: '/me', path: '/me', status: 200, ms: Number, userId: decodeJwt(token).sub });
  const refused = roost.logs.filter((entry) => entry.reqId === 'trace-me-2');
  t.ok(refused.length > 0);
  t.ok(refused.every((entry) => !('userId' in entry)), 'no user id for a refused token');
  t.ok(roost.logs.filter((entry) => entry.route === '/login').every((entry) => !('userId' in entry)), 'none before sign-in');
  t.notOk(roost.rawLogs.some((raw) => raw.includes(token) || raw.includes('not.a.token')), 'tokens are never logged');
});

t.test('the process writes JSON lines to a pipe and pretty lines to a terminal', async (t) => {
  const env = {
    DATABASE_URL: await createTestSchema(t),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `roost-test:${randomBytes(6).toString('hex')}:`,
    COOKIE_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    // No Twitter app: the sandbox, asked for by name beside a real database.
    SANDBOX: 'true',
  };
  const piped = spawnRoost(t, { ...env, PORT: String(await freePort()) });
  await piped.ready();
  t.ok(piped.logs().some((line) => line.msg?.toString().startsWith('roost is ready') && typeof line.startupMs === 'number'), 'JSON, with the start-up time');
  piped.child.kill('SIGTERM');
  t.equal(await piped.exited, 0);

  const terminal = spawnRoost(t, { ...env, PORT: String(await freePort()) }, { terminal: true });
  await terminal.ready();
  t.match(terminal.output(), /INFO.*roost is ready/);
  t.notMatch(terminal.output(), /^\{"level"/m, 'no JSON lines on a terminal');
  terminal.child.kill('SIGTERM');
  await terminal.exited;
});
