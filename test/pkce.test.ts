import t from 'tap';
import { isValidS256Challenge, s256Challenge, verifierMatches } from '../src/pkce.js';
import { parseCodeRequestParams } from '../src/login-params.js';
import { hasCodeResponseParams, withQuery } from '../src/return-to.js';

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

t.test('S256 matches the RFC 7636 example', async (t) => {
  t.equal(s256Challenge(VERIFIER), CHALLENGE);
  t.ok(verifierMatches(VERIFIER, CHALLENGE));
  t.notOk(verifierMatches(`${VERIFIER.slice(0, -1)}l`, CHALLENGE), 'one character off');
  t.notOk(verifierMatches(CHALLENGE, CHALLENGE), 'the challenge is not its own verifier');
  t.notOk(verifierMatches(VERIFIER, `${CHALLENGE}x`), 'a challenge of another length');
});

// The verifier's shape (§4.1) is openapi.yaml's: see request-validation.test.ts.
t.test('challenge shape (RFC 7636 §4.2)', async (t) => {
  t.ok(isValidS256Challenge(CHALLENGE));
  t.notOk(isValidS256Challenge(`${CHALLENGE}=`));
});

t.test('parseCodeRequestParams', async (t) => {
  t.same(parseCodeRequestParams({}), { ok: true, value: undefined }, 'no challenge: the fragment mode');
  t.same(parseCodeRequestParams({ code_challenge: CHALLENGE, code_challenge_method: 'S256' }), { ok: true, value: { challenge: CHALLENGE } });
  t.same(parseCodeRequestParams({ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'a b/c' }), {
    ok: true,
    value: { challenge: CHALLENGE, state: 'a b/c' },
  });
  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ code_challenge: CHALLENGE }, /must be S256/],
    [{ code_challenge: VERIFIER, code_challenge_method: 'plain' }, /plain is not accepted/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 's256' }, /must be S256/],
    [{ code_challenge: 'short', code_challenge_method: 'S256' }, /43 base64url/],
    [{ code_challenge: [CHALLENGE, CHALLENGE], code_challenge_method: 'S256' }, /once/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: ['a', 'b'] }, /once/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: '' }, /state must be/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'x'.repeat(513) }, /state must be/],
    [{ code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'tab\there' }, /state must be/],
    [{ code_challenge_method: 'S256' }, /only with code_challenge/],
    [{ state: 'x' }, /only with code_challenge/],
  ];
  for (const [query, reason] of refused) {
    const check = parseCodeRequestParams(query);
    t.equal(check.ok, false, JSON.stringify(query));
    if (!check.ok) t.match(check.reason, reason);
  }
});

t.test('withQuery keeps return_to query and adds the answer', async (t) => {
  t.equal(withQuery('https://app.example/cb', { code: 'c', state: 's t' }), 'https://app.example/cb?code=c&state=s+t');
  t.equal(withQuery('https://app.example/cb?tab=2&x=a%20b', { code: 'c' }), 'https://app.example/cb?tab=2&x=a%20b&code=c');
  t.equal(withQuery('https://app.example/cb?', { code: 'c' }), 'https://app.example/cb?code=c');
  t.equal(withQuery('https://app.example/cb?a=1&', { code: 'c' }), 'https://app.example/cb?a=1&code=c');
  t.equal(withQuery('https://app.example/', { error: 'access_denied', state: '&=?#' }), 'https://app.example/?error=access_denied&state=%26%3D%3F%23');
  t.ok(hasCodeResponseParams('https://app.example/?code=1'));
  t.ok(hasCodeResponseParams('https://app.example/?a=1&state'));
  t.notOk(hasCodeResponseParams('https://app.example/?codes=1&mystate=2'));
});
