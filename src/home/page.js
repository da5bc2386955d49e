// Reads the answer roost put in the fragment, verifies the token against the
// published JWKS with WebCrypto, and shows the profile from /me.
const here = window.location.origin + window.location.pathname;
document.getElementById('sign-in').href = '/login?return_to=' + encodeURIComponent(here);

const answer = new URLSearchParams(window.location.hash.slice(1));
// The token must not linger in the address bar or the history.
if (window.location.hash) history.replaceState(null, '', here);

const decode = (part) => JSON.parse(new TextDecoder().decode(bytes(part)));
function bytes(base64url) {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '='));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
const show = (id, value) => { document.getElementById(id).textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2); };

// The WebCrypto parameters of each algorithm roost may sign with (JWT_ALG).
const ALGORITHMS = {
  ES256: { key: (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }), import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { key: (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }), import: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  RS256: { key: (jwk) => ({ kty: jwk.kty, n: jwk.n, e: jwk.e }), import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
};

async function verify(token, header) {
  const jwks = await (await fetch('/.well-known/jwks.json')).json();
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  // The key's own alg decides; the token's header only has to agree (RFC 8725 §3.1).
  const algorithm = jwk && Object.hasOwn(ALGORITHMS, jwk.alg) ? ALGORITHMS[jwk.alg] : undefined;
  if (!algorithm || header.alg !== jwk.alg) return false;
  const key = await crypto.subtle.importKey('jwk', algorithm.key(jwk), algorithm.import, false, ['verify']);
  const [h, p, s] = token.split('.');
  return crypto.subtle.verify(algorithm.verify, key, bytes(s), new TextEncoder().encode(h + '.' + p));
}

async function main() {
  if (answer.has('error')) {
    document.getElementById('error').hidden = false;
    show('error-text', answer.get('error') === 'access_denied' ? 'You cancelled the sign-in.' : 'Sign-in failed: ' + answer.get('error'));
    return;
  }
  const token = answer.get('access_token');
  if (!token) return;
  document.getElementById('result').hidden = false;
  const [headerPart, claimsPart] = token.split('.');
  const header = decode(headerPart);
  show('header', header);
  show('claims', decode(claimsPart));
  const verified = await verify(token, header).catch(() => false);
  const status = document.getElementById('verified');
  status.textContent = verified ? 'verified' : 'NOT verified';
  status.className = verified ? 'ok' : 'bad';
  const me = await fetch('/me', { headers: { authorization: 'Bearer ' + token } });
  show('me', await me.json());
}
main();
