// roost as an OpenID Provider for a relying party in another language, with
// no roost-specific code: Python's Authlib (test/interop/authlib_rp.py) finds
// every endpoint by discovery, signs in through the sandbox X with PKCE, state
// and nonce, redeems the code with client_secret_basic, client_secret_post and
// as a public client, validates RS256, ES256 and EdDSA ID tokens with
// authlib.jose (iss, aud, exp, nonce, at_hash), reads UserInfo, refreshes,
// logs out at the end_session_endpoint, and meets roost's errors where the
// standards put them. One roost, one run of the script; each of its checks is
// asserted on its own here.
// Needs Debian's /usr/bin/python3 with python3-authlib and python3-requests;
// without Authlib the file skips itself (the summary names it).
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { startRoost } from '../helpers/roost.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'authlib_rp.py');
// A made-up host: the script reads each redirect from the Location header and never goes there.
const RP = 'https://rp.example.test';
const SECRET_BASIC = 'authlib-basic-secret-0123456789abcdef';
const SECRET_POST = 'authlib-post-secret-0123456789abcdefgh';
const CLIENTS = [
  { client_id: 'py-basic', client_secret: SECRET_BASIC, redirect_uris: [`${RP}/basic/cb`], post_logout_redirect_uris: [`${RP}/basic/bye`], token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'py-post', client_secret: SECRET_POST, redirect_uris: [`${RP}/post/cb`], post_logout_redirect_uris: [`${RP}/post/bye`], token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256' },
  { client_id: 'py-public', redirect_uris: [`${RP}/public/cb`], post_logout_redirect_uris: [`${RP}/public/bye`], id_token_signed_response_alg: 'EdDSA' },
];
const ROLES = [
  { role: 'basic', clientId: 'py-basic', alg: 'RS256', auth: 'client_secret_basic' },
  { role: 'post', clientId: 'py-post', alg: 'ES256', auth: 'client_secret_post' },
  { role: 'public', clientId: 'py-public', alg: 'EdDSA', auth: 'none' },
] as const;

interface Check {
  readonly ok: boolean;
  readonly detail: string;
  readonly [seen: string]: unknown;
}

interface Report {
  readonly authlib: string;
  readonly ok: boolean;
  readonly checks: Record<string, Check>;
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the script with the registrations on stdin (secrets stay off the command line). */
function runScript(args: string[], stdin: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 90_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const probe = await new Promise<RunResult>((resolve) => {
  execFile(PYTHON, ['-c', 'import authlib; print(authlib.__version__)'], { timeout: 15_000 }, (error, stdout, stderr) =>
    resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
  );
});
if (probe.code !== 0) {
  t.plan(0, `${PYTHON} cannot import authlib: install Debian's python3-authlib and python3-requests (apt-get install -y python3-authlib python3-requests)`);
} else {
  t.comment(`Authlib ${probe.stdout.trim()}`);
  t.test('an Authlib relying party signs in through roost and meets its errors', suite);
}

async function suite(t: Test): Promise<void> {
  const roost = await startRoost(t, { env: { OIDC_CLIENTS: JSON.stringify(CLIENTS) } });
  const user = roost.users[0];
  if (!user) throw new Error('the sandbox has no users');
  const issuer = roost.config.publicUrl;

  const usage = await runScript([issuer, user.id_str], '[]');
  t.equal(usage.code, 2, 'the script refuses registrations it cannot use');
  t.equal(usage.stdout, '', 'and prints no results');

  const run = await runScript([issuer, user.id_str], JSON.stringify(CLIENTS));
  let report: Report | undefined;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    report = undefined;
  }
  if (!report) {
    t.fail(`the script printed no JSON report (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
    return;
  }
  const checks = report.checks;
  t.comment(`exit ${run.code}; ${run.stderr.trim()}`);
  t.equal(run.code, report.ok ? 0 : 1, 'the exit code says whether every check passed');
  t.equal(report.ok, Object.values(checks).every((check) => check.ok), 'ok is every check');
  const output = run.stdout + run.stderr;
  t.notOk(output.includes(SECRET_BASIC) || output.includes(SECRET_POST), 'no secret in the output');

  /** One check: it ran and passed (its detail otherwise), then what it saw. */
  const check = (name: string, fn: (t: Test, seen: Check) => void) =>
    t.test(name, async (t) => {
      const seen = checks[name];
      if (!seen) return t.fail(`the script reported no check named ${name} (it reported ${Object.keys(checks).join(', ')})`);
      // What a failed check saw is in its detail; the rest is asserted only of a check that passed.
      if (t.ok(seen.ok, `${name}: ${seen.detail}`)) fn(t, seen);
    });

  check('discovery', (t, seen) => {
    t.equal(seen.issuer, issuer, 'the issuer is PUBLIC_URL exactly');
    t.same(seen.endpoints, {
      authorization_endpoint: `${roost.url}/authorize`,
      token_endpoint: `${roost.url}/token`,
      userinfo_endpoint: `${roost.url}/userinfo`,
      jwks_uri: `${roost.url}/.well-known/jwks.json`,
      end_session_endpoint: `${roost.url}/end_session`,
    });
    t.equal(seen.iss_parameter, true, 'RFC 9207 is announced');
    t.same(seen.key_algs, ['ES256', 'EdDSA', 'RS256'], 'the JWKS holds a key for each ID token algorithm');
  });

  for (const { role, clientId, alg, auth } of ROLES) {
    check(`${role}.sign_in`, (t, seen) => {
      t.same(seen.hops, ['roost GET 302', 'elsewhere GET 200', 'elsewhere POST 302', 'roost GET 302'], 'authorize, the consent page, the approval, the callback');
      t.same(seen.sent, { client_auth: auth, code_verifier: true, grant_type: 'authorization_code' }, `Authlib authenticated with ${auth} and sent the PKCE verifier`);
      t.equal(seen.scope, 'openid profile email offline_access');
      t.ok((seen.cookies as string[]).includes('roost_sso'), 'the browser keeps a session at roost');
    });
    check(`${role}.id_token`, (t, seen) => {
      t.equal(seen.alg, alg, `${alg}, as the registration asks`);
      t.match(seen.claims, { iss: issuer, aud: clientId, sub: /./, preferred_username: user.screen_name, name: user.name, email: user.email, email_verified: true, profile: `https://x.com/${user.screen_name}` });
      t.type((seen.claims as Record<string, unknown>).nonce, 'string');
      t.same(seen.has, ['at_hash', 'auth_time', 'exp', 'iat', 'sid']);
      t.ok(typeof seen.lifetime === 'number' && seen.lifetime > 0 && seen.lifetime <= roost.config.accessTokenTtl, 'exp is iat plus at most ACCESS_TOKEN_TTL');
      t.same(seen.refused, ['alg', 'at_hash', 'aud', 'iss', 'nonce', 'signature'], 'a wrong nonce, access token, audience, issuer, signature or algorithm is refused: the checks are real');
      if (alg === 'EdDSA' && String(seen.at_hash_checked_by).startsWith('sha512')) {
        // Authlib 1.2.0 takes the at_hash digest from the alg's digits, so it has none for EdDSA (authlib/authlib#799).
        t.match(seen.authlib_at_hash, 'refused the right access token: Invalid claim "at_hash"', 'this Authlib cannot hash for EdDSA, so the script checks SHA-512');
      } else t.equal(seen.at_hash_checked_by, 'authlib', 'Authlib checked at_hash against the access token');
    });
    check(`${role}.userinfo`, (t, seen) => {
      t.match(seen.claims, { sub: /./, preferred_username: user.screen_name, email: user.email });
    });
    check(`${role}.refresh`, (t, seen) => {
      t.same(seen.sent, { client_auth: auth, code_verifier: false, grant_type: 'refresh_token' }, `the refresh authenticates with ${auth}`);
      t.equal(seen.alg, alg);
    });
  }

  check('single_sign_on', (t, seen) => {
    t.same(seen.hops, ['roost GET 302'], 'prompt=none in a browser with a session: straight back with a code');
  });

  for (const { role } of ROLES) {
    check(`${role}.logout`, (t, seen) => {
      t.ok((seen.cookies_before as string[]).includes('roost_sso'));
      t.notOk((seen.cookies_after as string[]).includes('roost_sso'), 'the browser session cookie is cleared');
      t.equal(seen.prompt_none_after_logout, 'login_required', 'the browser has no session at roost after the logout');
      if (role === 'basic') t.equal(seen.sso_session_after_logout, 401, 'the session the browser session opened for another client ends too');
    });
  }

  check('error.unregistered_redirect_uri', (t, seen) => {
    t.same(seen, { ok: true, detail: 'ok', status: 400, location: null, content_type: 'text/html' }, 'a page, never a redirect');
  });
  check('error.public_without_pkce', (t, seen) => {
    t.match(seen, { error: 'invalid_request', has_description: true, state: true, iss: issuer });
  });
  check('error.prompt_none_without_session', (t, seen) => {
    t.match(seen, { error: 'login_required', state: true, iss: issuer });
  });
  check('error.wrong_secret_basic', (t, seen) => {
    t.match(seen, { error: 'invalid_client', status: 401, challenge: 'Basic realm="roost"', sent: 'client_secret_basic' });
  });
  check('error.wrong_secret_post', (t, seen) => {
    t.match(seen, { error: 'invalid_client', status: 400, challenge: '', sent: 'client_secret_post' });
  });
  check('error.replayed_code', (t, seen) => {
    t.match(seen, { error: 'invalid_grant', status: 400, redeemed_after_wrong_secrets: true });
    t.equal(seen.first_token_after_replay, 401, 'the replay ends the session the first redemption opened');
  });

  t.test('nothing secret reached roost’s log', async (t) => {
    for (const secret of [SECRET_BASIC, SECRET_POST]) t.notOk(roost.rawLogs.some((line) => line.includes(secret)));
  });
}
