// The curl walkthrough of docs/flow.md ("Step by step with curl") runs as
// written: the block after `<!-- walkthrough -->` goes to bash, as a reader
// pastes it, against a real roost with the built-in sandbox on a port other
// than the page's default, and every step prints what the page says it
// shows. Copies of the block with one step broken run too, so the checks are
// known to catch a step that stops working.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import t from 'tap';
import { startRoost } from '../helpers/roost.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARKER = '<!-- walkthrough -->';
/** The app page of the walkthrough, as `npm start` is given it there. */
const RETURN_TO = 'http://localhost:5173/signed-in';
const STATE = 'x7Kp2';

/** The fenced sh block right after the marker in docs/flow.md. */
function walkthroughBlock(page: string): string {
  const lines = page.split('\n');
  const at = lines.indexOf(MARKER);
  if (at === -1 || lines.indexOf(MARKER, at + 1) !== -1) throw new Error(`docs/flow.md must have exactly one line "${MARKER}"`);
  if (lines[at + 1] !== '```sh') throw new Error(`the line after "${MARKER}" must open a \`\`\`sh block`);
  const end = lines.indexOf('```', at + 2);
  if (end === -1) throw new Error('the walkthrough block is not closed');
  return lines.slice(at + 2, end).join('\n') + '\n';
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` with bash -euo pipefail in a fresh folder (for its cookie jar), with only PATH and ROOST set. */
function runBash(t: { teardown(fn: () => unknown): void }, script: string, roost: string): Promise<Run> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'roost-walkthrough-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  return new Promise((resolve, reject) => {
    // No HOME: curl reads no ~/.curlrc; no proxy variables reach it either.
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { PATH: process.env.PATH ?? '', ROOST: roost }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const TOKEN = '[\\w-]+';
const JWT = '[\\w-]+\\.[\\w-]+\\.[\\w-]+';

/** Each line the block prints, in order: what step, and what it must look like. */
function expectedLines(url: string): Array<[string, RegExp]> {
  const authenticate = new RegExp(`^${escape(url)}/sandbox/twitter/oauth/authenticate\\?oauth_token=${TOKEN}$`);
  const status = (code: number) => new RegExp(`^HTTP ${code}$`);
  const problem = (code: string) => new RegExp(`^\\{"type":"urn:roost:problem:${code}",.*"code":"${code}"\\}$`);
  const denied = new RegExp(`^${escape(RETURN_TO)}#error=access_denied&error_description=[^&]+&state=${STATE}$`);
  return [
    ['1. /login answers 302 to the sandbox consent page', authenticate],
    ['2. the consent page', /^<h1>Authorize roost to use your account\?<\/h1>$/],
    ['2. it offers the first sandbox user', /name="user_id" value="1240000000000000001".*Alice Example/],
    ['2. and the second', /name="user_id" value="1240000000000000002".*Bob Example/],
    ['2. and the third', /name="user_id" value="1240000000000000003"/],
    ['3. approving sends the browser to roost\'s callback', new RegExp(`^${escape(url)}/login/callback\\?oauth_token=${TOKEN}&oauth_verifier=${TOKEN}$`)],
    ['4. the callback answers with the tokens in the fragment', new RegExp(`^${escape(RETURN_TO)}#access_token=${JWT}&token_type=Bearer&expires_in=900&refresh_token=${TOKEN}&state=${STATE}$`)],
    ['5. the state is checked', /^state matches/],
    ['5. /me shows the sandbox user', /^\{.*"screen_name":"alice","name":"Alice Example".*\}$/],
    ['5. /me answers 200', status(200)],
    ['6. the refresh answers new tokens', new RegExp(`^\\{"access_token":"${JWT}","token_type":"Bearer","expires_in":900,"refresh_token":"${TOKEN}"\\}$`)],
    ['7. /logout answers 204', status(204)],
    ['7. the refreshed access token no longer works', problem('invalid_token')],
    ['7. /me answers 401', status(401)],
    ['a replayed callback is refused', problem('flow_not_found')],
    ['a replayed callback answers 400', status(400)],
    ['a cancel at the sandbox comes back as access_denied', denied],
    ['a callback without the cookie comes back as access_denied', denied],
    ['an unregistered return_to is refused', problem('return_to_not_allowed')],
    ['an unregistered return_to answers 400', status(400)],
    ['the registered page on another loopback port is accepted', authenticate],
  ];
}

/** What is wrong with a run of the walkthrough against the roost at `url`: nothing when every step worked. */
function problemsOf(run: Run, url: string): string[] {
  const problems: string[] = [];
  if (run.code !== 0) problems.push(`bash exited ${run.code}: ${run.stderr.trim() || '(nothing on stderr)'}`);
  const lines = run.stdout.replace(/\n$/, '').split('\n');
  const expected = expectedLines(url);
  expected.forEach(([step, pattern], index) => {
    const line = lines[index];
    if (line === undefined) problems.push(`${step}: no output`);
    else if (!pattern.test(line)) problems.push(`${step}: printed ${JSON.stringify(line.slice(0, 300))}`);
  });
  if (lines.length > expected.length) problems.push(`${lines.length - expected.length} more lines than the steps print`);
  return problems;
}

/** `block` with its one occurrence of `from` replaced: a walkthrough with one step broken. */
function breakStep(block: string, from: string, to: string): string {
  const parts = block.split(from);
  if (parts.length !== 2) throw new Error(`the walkthrough should contain ${JSON.stringify(from)} exactly once (found ${parts.length - 1})`);
  return parts.join(to);
}

const block = walkthroughBlock(readFileSync(path.join(ROOT, 'docs/flow.md'), 'utf8'));
const roost = await startRoost(t, { sandbox: true, env: { RETURN_TO_URLS: RETURN_TO } });
const jwks = createRemoteJWKSet(new URL(`${roost.url}/.well-known/jwks.json`));
const verify = (token: string) => jwtVerify(token, jwks, { issuer: roost.url, algorithms: ['ES256'], typ: 'at+jwt' });

t.test('the walkthrough runs start to finish against a roost at ROOST', async (t) => {
  t.notOk(block.includes('localhost:3000/'), 'every request goes to $ROOST, not to the default address');
  t.not(new URL(roost.url).port, '3000', 'the roost under test is not on the default port');
  const run = await runBash(t, block, roost.url);
  t.same(problemsOf(run, roost.url), [], 'every step printed what it should', { stdout: run.stdout });

  const lines = run.stdout.split('\n');
  const fragment = new URLSearchParams(lines[6]!.split('#')[1]);
  const me = JSON.parse(lines[8]!) as Record<string, unknown>;
  t.match(me, { screen_name: 'alice', name: 'Alice Example', twitter_id: '1240000000000000001' }, '/me is the first sandbox user');
  const signedIn = await verify(fragment.get('access_token')!);
  t.equal(signedIn.payload.sub, me.id, 'the access token of the fragment is this user\'s, signed by roost');

  const refreshed = JSON.parse(lines[10]!) as { access_token: string; refresh_token: string };
  t.not(refreshed.refresh_token, fragment.get('refresh_token'), 'the refresh token was rotated');
  t.not(refreshed.access_token, fragment.get('access_token'), 'a new access token');
  const { payload } = await verify(refreshed.access_token);
  t.match(payload, { sub: me.id, sid: signedIn.payload.sid }, 'for the same user and session');
});

t.test('a walkthrough with a broken step fails the checks', async (t) => {
  const broken: Array<[string, string, string]> = [
    ['step 4 without the flow cookie', 'SIGNED_IN_URL=$(curl -si -b jar ', 'SIGNED_IN_URL=$(curl -si '],
    ['step 3 refusing instead of approving', 'user_id=1240000000000000001&action=approve" \\\n  "$ROOST', 'user_id=1240000000000000001&action=cancel" \\\n  "$ROOST'],
    ['step 6 with the access token for a refresh token', '-d "refresh_token=$REFRESH_TOKEN"', '-d "refresh_token=$ACCESS_TOKEN"'],
    ['step 7 signing out at a wrong path', '"$ROOST/logout"', '"$ROOST/signout"'],
    ['step 1 without the state', 'login?return_to=$RETURN_TO&state=$STATE" | location)\necho', 'login?return_to=$RETURN_TO" | location)\necho'],
  ];
  for (const [name, from, to] of broken) {
    const run = await runBash(t, breakStep(block, from, to), roost.url);
    t.not(problemsOf(run, roost.url).length, 0, `${name}: caught`);
  }
});
