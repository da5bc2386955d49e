// The sandbox page plays an app that uses roost. Its sign-in link (written by
// the server) has the page as return_to; this script adds a fresh `state` to
// it, reads roost's answer from the address fragment, refuses an answer
// whose state is not the one this tab sent (RFC 6749 §10.12), checks the token as a sibling service would (signature
// against the published JWKS, issuer, expiry) and calls /me with it. Refresh
// trades the refresh token that came beside it at POST /token (RFC 6749 §6);
// Sign out ends the session with POST /logout.
const $ = (id) => document.getElementById(id);
const here = window.location.origin + window.location.pathname;

// The token travels in the fragment so no server log or Referer sees it; it
// must not linger in the address bar or the history either.
const answer = new URLSearchParams(window.location.hash.slice(1));
const answered = window.location.hash.length > 1;
if (window.location.hash) history.replaceState(null, '', here);

// The state this tab sent with its last sign-in, used once; then a new one
// for the next. An answer without it was not asked for here: someone else's
// tokens in a link, say.
const STATE_KEY = 'roost-sandbox-state';
const sentState = sessionStorage.getItem(STATE_KEY);
sessionStorage.removeItem(STATE_KEY);
function armSignIn() {
  const state = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const link = $('sign-in');
  const url = new URL(link.href);
  url.searchParams.set('state', state);
  link.href = url.href;
  link.addEventListener('click', () => sessionStorage.setItem(STATE_KEY, state));
}
armSignIn();

let discovery = {};
let tokens = null; // { access, refresh } while signed in; kept in memory only

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

async function getJson(url, init) {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json().catch(() => null) };
}

// The WebCrypto parameters of each algorithm roost may sign with (JWT_ALG).
const ALGORITHMS = {
  ES256: { key: (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }), import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { key: (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }), import: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  RS256: { key: (jwk) => ({ kty: jwk.kty, n: jwk.n, e: jwk.e }), import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
};

// RFC 7515 §5.2 with a key from roost's JWKS under the token's kid. The key's
// own alg decides; the token's header only has to agree (RFC 8725 §3.1).
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

async function showToken(access) {
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
  $('me-url').textContent = `${discovery.issuer ?? window.location.origin}/me`;
  const expires = new Date(claims.exp * 1000);
  const left = expires.getTime() - Date.now();
  $('expires').textContent = left > 0 ? `in ${Math.ceil(left / 60000)} min, at ${expires.toLocaleTimeString()}` : `expired at ${expires.toLocaleTimeString()}`;
  $('refresh').hidden = !tokens.refresh;
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

function showDenied(text) {
  $('denied-text').textContent = text;
  showSection('denied');
}

async function refresh() {
  const { status, body } = await getJson(discovery.token_endpoint ?? '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh }),
  }).catch(() => ({ status: 0, body: null }));
  if (status !== 200 || !body?.access_token) {
    signOutLocally();
    $('status').textContent = `Refresh refused (${status || 'no answer'}): ${body?.detail ?? body?.error ?? 'no detail'}`;
    return;
  }
  tokens = { access: body.access_token, refresh: body.refresh_token ?? tokens.refresh };
  await showToken(tokens.access);
}

async function signOut() {
  // The refresh token names the session; without one, the access token does.
  const init = tokens.refresh
    ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ refresh_token: tokens.refresh }) }
    : { method: 'POST', headers: { authorization: `Bearer ${tokens.access}` } };
  const response = await fetch('/logout', init).catch(() => null);
  signOutLocally();
  $('status').textContent = response?.ok
    ? 'Signed out: roost ended the session, so its tokens no longer work.'
    : `Signed out here, but roost answered ${response?.status ?? 'nothing'} to the sign-out.`;
}

function signOutLocally() {
  tokens = null;
  for (const id of ['header', 'claims', 'me', 'raw']) $(id).textContent = '';
  showSection('signed-out');
  $('sign-in').focus();
}

async function main() {
  discovery = (await getJson('/.well-known/openid-configuration').catch(() => null))?.body ?? {};
  $('refresh').addEventListener('click', () => refresh());
  $('sign-out').addEventListener('click', () => signOut());

  if (answered && (sentState === null || answer.get('state') !== sentState)) {
    return showDenied('This answer was not started by this page (its state does not match), so the page ignored it. Sign in again.');
  }
  if (answer.has('error')) {
    const error = answer.get('error');
    return showDenied(error === 'access_denied'
      ? 'You cancelled at the consent page, so roost issued no token (error=access_denied).'
      : `The sign-in failed: error=${error}${answer.has('error_description') ? ` (${answer.get('error_description')})` : ''}.`);
  }
  const access = answer.get('access_token');
  if (!access) return;
  tokens = { access, refresh: answer.get('refresh_token') };
  try {
    await showToken(access);
  } catch (error) {
    tokens = null;
    showDenied(`The token in roost's answer could not be read: ${error.message}`);
  }
}
main();
