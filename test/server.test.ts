// The real process, as a newcomer starts it: no configuration at all, so
// the embedded Postgres, the in-process store and the built-in sandbox.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jwtVerify, createRemoteJWKSet } from 'jose';
import t from 'tap';
import { Browser, fragmentOf, readConsentForm } from './helpers/browser.js';
import { freePort } from './helpers/roost.js';

interface Running {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function run(env: Record<string, string>): Running {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    // No coverage from this tsx process: merged with tap's own it spoils the report (see helpers/child.ts).
    env: { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function ready(running: Running, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!running.output().includes('roost is ready')) {
    if (running.child.exitCode !== null) throw new Error(`roost exited: ${running.output()}`);
    if (Date.now() > deadline) throw new Error(`roost did not start: ${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stop(running: Running): Promise<number | null> {
  running.child.kill('SIGTERM');
  return running.exited;
}

t.test('a bad variable stops the process with a message naming it', async (t) => {
  const running = run({ ACCESS_TOKEN_TTL: 'soon', RETURN_TO_URLS: 'ftp://x' });
  t.equal(await running.exited, 1);
  t.match(running.output(), /ACCESS_TOKEN_TTL must be a whole number/);
  t.match(running.output(), /RETURN_TO_URLS entry "ftp:\/\/x" must be an absolute http or https URL/);
});

t.test('a DATABASE_URL that cannot be reached is named, with where it points and why, and no password', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['postgres://roost:s3cret@127.0.0.1:1/roost', /roost: failed to start: DATABASE_URL: cannot connect to 127\.0\.0\.1:1\/roost \(connection refused: is Postgres running there\?\)/],
    ['postgres://postgres:s3cret@127.0.0.1:5432/roost_no_such_database', /DATABASE_URL: cannot connect to 127\.0\.0\.1:5432\/roost_no_such_database \(that database does not exist\)/],
  ];
  for (const [url, message] of cases) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'roost-unreachable-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const running = run({ DATABASE_URL: url, SANDBOX: 'true', DATA_DIR: dataDir, PORT: String(await freePort()) });
    t.equal(await running.exited, 1, url);
    t.match(running.output(), message, url);
    t.notMatch(running.output(), /s3cret/, 'the password is not printed');
  }
});

t.test('production refuses to start without its secrets and without Twitter', async (t) => {
  const running = run({ NODE_ENV: 'production' });
  t.equal(await running.exited, 1);
  t.match(running.output(), /X keys are required when NODE_ENV=production/);
  t.match(running.output(), /ENCRYPTION_KEY is required/);
});

t.test('with no configuration: sandbox sign-in on the embedded defaults, kept across a restart', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'roost-server-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const env = { PORT: String(port), DATA_DIR: dataDir };

  const first = run(env);
  t.teardown(() => first.child.kill('SIGKILL'));
  await ready(first);
  t.match(first.output(), /SANDBOX TWITTER PROVIDER IS ON/);
  t.match(first.output(), /generated secrets kept in the data folder/);
  t.equal(statSync(path.join(dataDir, 'secrets.json')).mode & 0o777, 0o600, 'generated secrets are private to the user');

  const home = await fetch(`${base}/`);
  t.equal(home.status, 200);
  t.match(await home.text(), /Sign in with Twitter \(sandbox\)/);

  const browser = new Browser();
  const login = await browser.get(`${base}/login?return_to=${encodeURIComponent(`${base}/`)}`);
  t.equal(login.status, 302);
  t.match(login.location, `${base}/sandbox/twitter/oauth/authenticate?oauth_token=`);
  const page = await browser.get(login.location as string);
  t.equal(page.status, 200);
  const form = readConsentForm(page.body);
  t.ok(form.userIds.length >= 2, 'the consent page offers sandbox users');
  const decision = await browser.postForm(new URL(form.action ?? '', login.location as string).href, {
    oauth_token: form.token,
    user_id: form.userIds[1] as string,
    action: 'approve',
  });
  t.equal(decision.status, 302);
  const callback = await browser.get(decision.location as string);
  t.equal(callback.status, 302);
  t.match(callback.location, `${base}/#access_token=`);
  const token = fragmentOf(callback.location).get('access_token') as string;
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: base, algorithms: ['ES256'] });
  t.equal(payload.twitter_id, form.userIds[1]);
  t.equal(await stop(first), 0, 'SIGTERM closes cleanly');

  const second = run(env);
  t.teardown(() => second.child.kill('SIGKILL'));
  await ready(second);
  const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(me.status, 200, 'a token from before the restart still verifies: same key, same secrets, same user');
  t.match(await me.json(), { id: payload.sub });
  const refreshed = await fetch(`${base}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: fragmentOf(callback.location).get('refresh_token') as string }),
  });
  t.equal(refreshed.status, 200, 'the session survives the restart and rotates on the embedded database');
  const { refresh_token: next } = (await refreshed.json()) as { refresh_token: string };
  const logout = await fetch(`${base}/logout`, { method: 'POST', body: new URLSearchParams({ refresh_token: next }) });
  t.equal(logout.status, 204);
  t.equal((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'signed out');
  const keys = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  t.equal(keys.keys[0]?.kid, protectedHeader.kid);
  t.equal(await stop(second), 0);
});
