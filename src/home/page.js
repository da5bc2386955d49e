// The sandbox page plays an app that signs in with roost.js, the browser
// client roost serves at /roost.js: it sends a fresh state and a PKCE
// challenge, refuses an answer this tab did not ask for (RFC 6749 §10.12),
// redeems the code, keeps the tokens fresh and signs out. On top of that the
// page checks the access token as a sibling service would (signature against
// the published JWKS, issuer, expiry) and calls /me with it.
import { createRoostClient } from '/roost.js';

const $ = (id) => document.getElementById(id);

async function getJson(url, init) {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json().catch(() => null) };
}

// roost's PUBLIC_URL is the issuer; its page there is the return_to the
// sandbox registers. Opened under another host name, the page has already
// been moved to PUBLIC_URL, where roost.js's state has to come back.
const discovery = (await getJson('/.well-known/openid-configuration').catch(() => null))?.body ?? {};
const roostUrl = discovery.issuer ?? window.location.origin;
const roost = createRoostClient({ url: roostUrl, returnTo: `${roostUrl}/` });

function bytes(base64url) {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '='));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
const decode = (part) => JSON.parse(new TextDecoder().decode(bytes(part)));
const pretty = (value) => JSON.stringify(value, null, 2);

function mark(id, ok, text) {
  $(id).textContent = text;
  $(id).className = ok ? 'ok' : 'bad';
}

// The WebCrypto parameters of each algorithm roost may sign with (JWT_ALG).
const ALGORITHMS = {
  ES256: { key: (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }), import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { key: (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }), import: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  RS256: { key: (jwk) => ({ kty: jwk.kty, n: jwk.n, e: jwk.e }), import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
};

// RFC 7515 §5.2 with a key from roost's JWKS under the token's kid. The key's
// own alg decides; the token's header only has to agree (RFC 8725 §3.1).
// roost.js decodes the claims without checking them: that is this page's job.
async function verifySignature(token, header) {
  if (header.typ !== 'at+jwt') return 'NOT verified: typ is not at+jwt';
  const { body: jwks } = await getJson('/.well-known/jwks.json');
  const jwk = jwks?.keys?.find((key) => key.kid === header.kid);
  if (!jwk) return 'NOT verified: no key with this kid in the JWKS';
  const algorithm = Object.hasOwn(ALGORITHMS, jwk.alg) ? ALGORITHMS[jwk.alg] : undefined;
  if (!algorithm) return `NOT verified: this page cannot check ${jwk.alg}`;
  if (header.alg !== jwk.alg) return `NOT verified: alg ${header.alg} is not the key's ${jwk.alg}`;
  const key = await crypto.subtle.importKey('jwk', algorithm.key(jwk), algorithm.import, false, ['verify']);
  const [h, p, s] = token.split('.');
  const ok = await crypto.subtle.verify(algorithm.verify, key, bytes(s), new TextEncoder().encode(`${h}.${p}`));
  return ok ? 'verified' : 'NOT verified: the signature does not match';
}

function showSection(id) {
  $('signed-in').hidden = id !== 'signed-in';
  $('signed-out').hidden = id === 'signed-in';
  $('denied').hidden = id !== 'denied';
  if (id !== 'signed-out') $(`${id}-title`).focus();
}

// The token roost.js holds now (refreshed first if it was due).
async function showToken() {
  let access;
  try {
    access = await roost.getAccessToken();
  } catch (error) {
    return showSignedOut(`roost.js could not get a token: ${error.message} (${error.error}).`);
  }
  if (access === null) return showSignedOut('The session has ended: sign in again.');

  const [headerPart, claimsPart] = access.split('.');
  const header = decode(headerPart);
  const claims = decode(claimsPart);
  $('who').textContent = `${claims.name} (@${claims.screen_name})`;
  $('header').textContent = pretty(header);
  $('claims').textContent = pretty(claims);
  $('alg').textContent = header.alg;
  $('kid').textContent = header.kid;
  $('iss').textContent = claims.iss;
  $('raw').textContent = access;
  $('me-url').textContent = `${roostUrl}/me`;
  const expires = new Date(claims.exp * 1000);
  const left = expires.getTime() - Date.now();
  $('expires').textContent = left > 0 ? `in ${Math.ceil(left / 60000)} min, at ${expires.toLocaleTimeString()}` : `expired at ${expires.toLocaleTimeString()}`;
  $('status').textContent = '';
  showSection('signed-in');

  mark('verified', false, 'checking…');
  const verdict = await verifySignature(access, header).catch((error) => `NOT verified: ${error.message}`);
  mark('verified', verdict === 'verified', verdict);
  const issuerOk = discovery.issuer !== undefined && claims.iss === discovery.issuer;
  mark('issuer-check', issuerOk, issuerOk ? 'matches the discovery document' : 'does NOT match the discovery document');

  const me = await getJson('/me', { headers: { authorization: `Bearer ${access}` } });
  $('me-status').textContent = `→ ${me.status}`;
  $('me').textContent = pretty(me.body);
}

function showSignedOut(status = '') {
  for (const id of ['header', 'claims', 'me', 'raw']) $(id).textContent = '';
  $('status').textContent = status;
  showSection('signed-out');
  $('sign-in').focus();
}

function showDenied(error) {
  $('denied-text').textContent =
    // A cancel says so in its description; any other refusal (no confirmed email, a sign-in to start again) in its own words.
    error.error === 'access_denied' && /did not authorize/.test(error.message) ? 'You cancelled at the consent page, so roost issued no token (error=access_denied).'
    : error.error === 'access_denied' ? `roost issued no token: ${error.message} (error=access_denied).`
    : error.error === 'state_mismatch' ? 'This answer was not started by this page (its state does not match), so the page ignored it. Sign in again.'
    : `The sign-in failed: error=${error.error} (${error.message}).`;
  showSection('denied');
}

$('sign-in').addEventListener('click', () => {
  roost.signIn().catch((error) => showSignedOut(`Could not start the sign-in: ${error.message}`));
});
// The access token is in memory only: after a reload, roost.js refreshes.
$('refresh').addEventListener('click', () => window.location.reload());
$('sign-out').addEventListener('click', async () => {
  await roost.signOut();
  $('status').textContent = 'Signed out: roost.js forgot the tokens here and asked roost to end the session (POST /logout).';
});

await roost.handleRedirect().then(
  (user) => (user === null ? showSection('signed-out') : showToken()),
  (error) => showDenied(error),
);
// From now on: a sign-in or a sign-out in another tab, or a session that ended.
roost.onChange((user) => (user === null ? showSignedOut() : showToken()));
