// The sandbox page plays an app that signs in with roost.js, the browser
// client roost serves at /roost.js: it sends a fresh state and a PKCE
// challenge, refuses an answer this tab did not ask for (RFC 6749 §10.12),
// redeems the code, keeps the tokens fresh and signs out. On top of that the
// page checks the access token as a sibling service would (signature against
// the published JWKS, issuer, expiry) and calls /me with it.
//
// Below it, a second app signs in through roost's OpenID Connect provider:
// roost-demo, the public client the zero-configuration sandbox registers
// with this page as its one redirect URI. It runs the authorization code flow
// as any relying party would, with WebCrypto and sessionStorage only: PKCE
// (RFC 7636, S256), state (RFC 6749 §10.12) and nonce (OIDC Core §3.1.2.1),
// the answer's issuer (RFC 9207), then the ID token's signature and claims
// (OIDC Core §3.1.3.7) and /userinfo.
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
const base64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const randomString = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));
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
// Each kind of token says what it is in typ (RFC 8725 §3.11): an access token
// at+jwt (RFC 9068), an ID token JWT or nothing, so neither passes for the other.
const ACCESS_TOKEN = { typ: 'at+jwt', accepts: (typ) => typ === 'at+jwt' };
const ID_TOKEN = { typ: 'JWT', accepts: (typ) => typ === undefined || String(typ).toUpperCase() === 'JWT' };

async function verifySignature(token, header, kind = ACCESS_TOKEN, jwksUrl = '/.well-known/jwks.json') {
  if (!kind.accepts(header.typ)) return `NOT verified: typ is not ${kind.typ}`;
  const { body: jwks } = await getJson(jwksUrl);
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

// --- The OpenID Connect demo ---------------------------------------------------

const DEMO_CLIENT_ID = 'roost-demo';
// The page itself, registered as the demo's redirect URI (PUBLIC_URL/).
const demoRedirectUri = `${roostUrl}/`;
// What the demo sent, until its answer comes back: this tab's marker.
const demoKey = `roost-demo:${roostUrl}:authorization`;
const AUTHORIZATION_ANSWER_KEYS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'];
// SHA-256 for RS256 and ES256, SHA-512 for EdDSA (Ed25519): what roost hashes at_hash with.
const AT_HASH_DIGESTS = { RS256: 'SHA-256', ES256: 'SHA-256', EdDSA: 'SHA-512' };
// The ID token of the demo's sign-in, in memory only: the sign-out's id_token_hint.
let demoIdToken = null;

// The provider is on when discovery names /authorize: with no client
// registered, the short form names roost's own /login in its place.
function endpointOf(name, path) {
  try {
    return typeof discovery[name] === 'string' && new URL(discovery[name]).pathname.endsWith(path) ? discovery[name] : undefined;
  } catch {
    return undefined;
  }
}
const demoEndpoints = {
  authorization: endpointOf('authorization_endpoint', '/authorize'),
  token: endpointOf('token_endpoint', '/token'),
  userinfo: endpointOf('userinfo_endpoint', '/userinfo'),
  jwks: endpointOf('jwks_uri', '/jwks.json'),
  endSession: endpointOf('end_session_endpoint', '/end_session'),
};
const providerOn = demoEndpoints.authorization !== undefined && demoEndpoints.token !== undefined && demoEndpoints.jwks !== undefined;

function demoStatus(text) {
  $('oidc-status').textContent = text;
}

async function startDemoSignIn() {
  const verifier = randomString(32);
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const sent = { state: randomString(16), nonce: randomString(16), verifier };
  sessionStorage.setItem(demoKey, JSON.stringify(sent));
  const url = new URL(demoEndpoints.authorization);
  const query = {
    response_type: 'code',
    client_id: DEMO_CLIENT_ID,
    redirect_uri: demoRedirectUri,
    scope: 'openid profile email',
    state: sent.state,
    nonce: sent.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  window.location.assign(url.href);
}

// The answer of /authorize lands on this page, as roost.js's does. roost's
// own /login never adds iss, and /authorize always does (RFC 9207): an
// answer with iss, or with the state the demo sent, is the demo's. It is
// taken off the address bar before roost.js reads it, and what the demo sent
// is read once: a second answer finds nothing.
function takeDemoAnswer() {
  const query = new URLSearchParams(window.location.search);
  let sent = null;
  try {
    sent = JSON.parse(sessionStorage.getItem(demoKey) ?? 'null');
  } catch {
    sent = null;
  }
  const mine = query.has('iss') || (query.has('state') && typeof sent?.state === 'string' && query.get('state') === sent.state);
  if (!mine) return null;
  sessionStorage.removeItem(demoKey);
  const kept = new URLSearchParams(query);
  for (const key of AUTHORIZATION_ANSWER_KEYS) kept.delete(key);
  const search = kept.toString();
  history.replaceState(history.state, '', window.location.pathname + (search ? `?${search}` : '') + window.location.hash);
  return { answer: query, sent };
}

// Every check happens before any request: an answer this tab did not ask
// for (a code from someone else's sign-in, sent as a link) is never redeemed.
async function finishDemoSignIn({ answer, sent }) {
  const started = typeof sent?.state === 'string' && typeof sent.nonce === 'string' && typeof sent.verifier === 'string';
  if (!started || answer.get('state') !== sent.state) {
    return demoStatus('This answer was not started by this page (its state does not match), so the demo ignored it and sent nothing to roost. Sign in again.');
  }
  if (answer.get('iss') !== discovery.issuer) {
    return demoStatus(`This answer names another issuer (iss=${answer.get('iss') ?? 'none'}, not ${discovery.issuer}), so the demo ignored it (RFC 9207). Sign in again.`);
  }
  if (answer.has('error')) {
    const error = answer.get('error');
    const description = answer.get('error_description') ?? '';
    return demoStatus(error === 'access_denied' && /did not authorize/.test(description)
      ? 'You cancelled at the consent page, so roost issued no code (error=access_denied).'
      : `roost issued no code: ${description} (error=${error}).`);
  }
  if (!providerOn || !answer.has('code')) return demoStatus('The answer carries no code: sign in again.');

  demoStatus('Redeeming the code at the token endpoint…');
  // A public client: client_id and the PKCE verifier, no secret (RFC 6749 §4.1.3, RFC 7636 §4.5).
  const tokens = await getJson(demoEndpoints.token, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code: answer.get('code'), redirect_uri: demoRedirectUri, client_id: DEMO_CLIENT_ID, code_verifier: sent.verifier }),
  });
  if (tokens.status !== 200 || typeof tokens.body?.id_token !== 'string' || typeof tokens.body?.access_token !== 'string') {
    return demoStatus(`The token endpoint refused the code: ${tokens.body?.error ?? `HTTP ${tokens.status}`} (${tokens.body?.error_description ?? 'no description'}).`);
  }
  demoStatus('');
  await showIdToken(tokens.body.id_token, tokens.body.access_token, sent.nonce);
}

// OIDC Core §3.1.3.7: the signature with the provider's keys, then iss, aud,
// exp and the nonce this tab sent; at_hash binds the access token (§3.1.3.8).
async function showIdToken(idToken, accessToken, nonce) {
  let header;
  let claims;
  try {
    const [headerPart, claimsPart] = idToken.split('.');
    header = decode(headerPart);
    claims = decode(claimsPart);
  } catch {
    return demoStatus('The token endpoint answered an ID token that is not a JWT.');
  }
  demoIdToken = null;
  const who = claims.preferred_username === undefined ? claims.sub : `${claims.name} (@${claims.preferred_username})`;
  $('oidc-result-title').textContent = `Checking the ID token of ${who}…`;
  $('oidc-claims').textContent = pretty(claims);
  $('oidc-alg').textContent = header.alg;
  $('oidc-kid').textContent = header.kid;
  $('oidc-userinfo').textContent = '';
  $('oidc-userinfo-status').textContent = '';
  $('oidc-result').hidden = false;
  $('oidc-sign-out').hidden = true;

  const verdict = await verifySignature(idToken, header, ID_TOKEN, demoEndpoints.jwks).catch((error) => `NOT verified: ${error.message}`);
  mark('oidc-verified', verdict === 'verified', verdict);
  const issuerOk = claims.iss === discovery.issuer;
  mark('oidc-issuer-check', issuerOk, issuerOk ? `${claims.iss}, the issuer asked` : `NOT the issuer asked: ${claims.iss}`);
  // One audience, this client; with several, azp names it (§2).
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const audienceOk = audiences.includes(DEMO_CLIENT_ID) && (audiences.length === 1 || claims.azp === DEMO_CLIENT_ID);
  mark('oidc-audience-check', audienceOk, audienceOk ? `${DEMO_CLIENT_ID}, this client` : `NOT this client: ${pretty(claims.aud)}`);
  const nonceOk = typeof claims.nonce === 'string' && claims.nonce === nonce;
  mark('oidc-nonce-check', nonceOk, nonceOk ? 'the one this tab sent' : 'does NOT match the one this tab sent');
  const expires = new Date(claims.exp * 1000);
  const expiryOk = Number.isFinite(expires.getTime()) && expires.getTime() > Date.now();
  mark('oidc-expiry-check', expiryOk, expiryOk ? `at ${expires.toLocaleTimeString()}` : 'expired, or no exp');
  const digest = Object.hasOwn(AT_HASH_DIGESTS, header.alg) ? AT_HASH_DIGESTS[header.alg] : undefined;
  const hash = digest === undefined ? undefined : new Uint8Array(await crypto.subtle.digest(digest, new TextEncoder().encode(accessToken)));
  const atHashOk = hash !== undefined && claims.at_hash === base64url(hash.slice(0, hash.length / 2));
  mark('oidc-at-hash-check', atHashOk, atHashOk ? 'matches the access token' : 'does NOT match the access token');

  // A relying party trusts nothing of a sign-in whose ID token fails a check.
  const signedIn = verdict === 'verified' && issuerOk && audienceOk && nonceOk && expiryOk && atHashOk;
  $('oidc-result-title').textContent = signedIn ? `Signed in to roost-demo as ${who}` : `Refused: the ID token of ${who} failed a check, so roost-demo signed no one in`;
  $('oidc-result-title').focus();
  if (!signedIn) {
    $('oidc-userinfo-status').textContent = '(not asked: the ID token failed a check)';
    return;
  }
  demoIdToken = idToken;
  $('oidc-sign-out').hidden = demoEndpoints.endSession === undefined;
  if (demoEndpoints.userinfo === undefined) return;
  const userinfo = await getJson(demoEndpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } });
  // §5.3.2: the answer is about the ID token's subject, or it is not used.
  const sameSubject = userinfo.body?.sub === claims.sub;
  $('oidc-userinfo-status').textContent = `→ ${userinfo.status}${userinfo.status === 200 ? (sameSubject ? ', the same sub as the ID token' : ', NOT the sub of the ID token') : ''}`;
  $('oidc-userinfo').textContent = pretty(userinfo.body);
}

if (providerOn) {
  $('oidc-on').hidden = false;
  $('oidc-sign-in').addEventListener('click', () => {
    startDemoSignIn().catch((error) => demoStatus(`Could not start the sign-in: ${error.message}`));
  });
  // RP-Initiated Logout 1.0 §2: the ID token names the session to end.
  $('oidc-sign-out').addEventListener('click', () => {
    const url = new URL(demoEndpoints.endSession);
    url.searchParams.set('id_token_hint', demoIdToken);
    url.searchParams.set('client_id', DEMO_CLIENT_ID);
    window.location.assign(url.href);
  });
} else {
  $('oidc-off').hidden = false;
  $('oidc-register').textContent = `OIDC_CLIENTS='${JSON.stringify([{ client_id: DEMO_CLIENT_ID, redirect_uris: [demoRedirectUri] }])}'`;
}
const demoAnswer = takeDemoAnswer();

$('sign-in').addEventListener('click', () => {
  roost.signIn().catch((error) => showSignedOut(`Could not start the sign-in: ${error.message}`));
});
// The access token is in memory only: after a reload, roost.js refreshes.
$('refresh').addEventListener('click', () => window.location.reload());
$('sign-out').addEventListener('click', async () => {
  await roost.signOut();
  $('status').textContent = 'Signed out: roost.js forgot the tokens here and asked roost to end the session (POST /logout).';
});

const roostShown = roost.handleRedirect().then(
  (user) => (user === null ? showSection('signed-out') : showToken()),
  (error) => showDenied(error),
);
if (demoAnswer !== null) {
  // After roost.js has shown its part, so that focus ends on the demo's answer.
  await roostShown;
  await finishDemoSignIn(demoAnswer).catch((error) => demoStatus(`The sign-in failed: ${error.message}`));
  if ($('oidc-result').hidden) $('oidc-title').focus();
}
await roostShown;
// From now on: a sign-in or a sign-out in another tab, or a session that ended.
roost.onChange((user) => (user === null ? showSignedOut() : showToken()));
