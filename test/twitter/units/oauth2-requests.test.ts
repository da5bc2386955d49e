import { createHash } from 'node:crypto';
import t from 'tap';
import {
  authorizeLocation,
  basicAuthorization,
  codeExchangeBody,
  isCodeVerifier,
  revocationBody,
  s256Challenge,
  scopesFor,
  userFieldsFor,
  usersMeUrl,
} from '../../../src/twitter/oauth2-requests.js';

t.test('S256 gives RFC 7636 Appendix B answer', async (t) => {
  t.equal(s256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  t.not(s256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

t.test('code verifiers follow RFC 7636 §4.1', async (t) => {
  t.ok(isCodeVerifier('a'.repeat(43)));
  t.ok(isCodeVerifier('A-._~z'.repeat(21).slice(0, 128)));
  t.notOk(isCodeVerifier('a'.repeat(42)), 'too short');
  t.notOk(isCodeVerifier('a'.repeat(129)), 'too long');
  t.notOk(isCodeVerifier(`${'a'.repeat(42)}+`), 'outside the alphabet');
  t.notOk(isCodeVerifier(`${'a'.repeat(42)}=`), 'base64 padding');
});

t.test('scopes and user fields per email mode, never offline.access', async (t) => {
  t.same(scopesFor('off'), ['tweet.read', 'users.read']);
  t.same(scopesFor('optional'), ['tweet.read', 'users.read', 'users.email']);
  t.same(scopesFor('required'), ['tweet.read', 'users.read', 'users.email']);
  for (const mode of ['off', 'optional', 'required'] as const) t.notOk(scopesFor(mode).includes('offline.access'), mode);
  t.same(userFieldsFor('off'), ['id', 'name', 'username', 'profile_image_url']);
  t.same(userFieldsFor('required'), ['id', 'name', 'username', 'profile_image_url', 'confirmed_email']);
  t.equal(usersMeUrl('https://api.x.com', 'optional'), 'https://api.x.com/2/users/me?user.fields=id,name,username,profile_image_url,confirmed_email');
  t.equal(usersMeUrl('https://api.x.com', 'off'), 'https://api.x.com/2/users/me?user.fields=id,name,username,profile_image_url');
});

t.test('the authorization URL carries every parameter once, in order, form-encoded', async (t) => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const location = authorizeLocation({
    authorizeUrl: 'https://x.com/i/oauth2/authorize',
    clientId: 'client id&=',
    callbackUrl: 'https://auth.example.com/login/callback?x=1',
    scopes: ['tweet.read', 'users.read'],
    state: 'st',
    codeVerifier: verifier,
  });
  t.equal(
    location,
    'https://x.com/i/oauth2/authorize?response_type=code&client_id=client+id%26%3D&redirect_uri=https%3A%2F%2Fauth.example.com%2Flogin%2Fcallback%3Fx%3D1' +
      '&scope=tweet.read+users.read&state=st&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256',
  );
  t.notMatch(location, verifier, 'the verifier itself never leaves roost');
});

t.test('HTTP Basic credentials per RFC 6749 §2.3.1', async (t) => {
  // The example of RFC 6749 §2.3.1.
  t.equal(basicAuthorization('s6BhdRkqt3', 'gX1fBat3bV'), 'Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW');
  // Each part form-encoded before joining: a ':' in the secret cannot shift the split.
  const header = basicAuthorization('id:1', 'a:b c~é+%');
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  t.equal(decoded, 'id%3A1:a%3Ab+c%7E%C3%A9%2B%25');
  t.equal(decoded.split(':').length, 2, 'exactly one separator');
  const [id, secret] = decoded.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
  t.same([id, secret], ['id:1', 'a:b c~é+%'], 'decodes back to the originals');
});

t.test('the code exchange and revocation bodies', async (t) => {
  const body = codeExchangeBody({ clientId: 'cid', code: 'co de&', callbackUrl: 'http://127.0.0.1:9/login/callback', codeVerifier: 'v'.repeat(43) });
  t.same([...new URLSearchParams(body)], [
    ['grant_type', 'authorization_code'],
    ['code', 'co de&'],
    ['redirect_uri', 'http://127.0.0.1:9/login/callback'],
    ['code_verifier', 'v'.repeat(43)],
    ['client_id', 'cid'],
  ]);
  t.notMatch(body, /client_secret/, 'the secret travels only in the Authorization header');
  t.same([...new URLSearchParams(revocationBody('cid', 'tok+en/='))], [
    ['token', 'tok+en/='],
    ['token_type_hint', 'access_token'],
    ['client_id', 'cid'],
  ]);
});

t.test('the challenge is the hash of the verifier, computed independently', async (t) => {
  for (const verifier of ['a'.repeat(43), '~'.repeat(128), 'M25iVXpKU3puUjFaYWg3T1NDTDQtcmJNSlZMN0pFZ0RxYm9Ja2lRNTlj']) {
    t.equal(s256Challenge(verifier), createHash('sha256').update(verifier).digest('base64url'));
  }
});
