import t from 'tap';
import { s256Challenge, verifierMatches } from '../../../src/sign-in/pkce.js';
import { hasCodeResponseParams, withQuery } from '../../../src/sign-in/return-to.js';

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

// The verifier's and the challenge's shapes (§4.1, §4.2) are openapi.yaml's: see request-validation.test.ts.

// The /login parameters of the code flow (code_challenge and the rest): login-params.test.ts.

t.test('withQuery keeps return_to query and adds the answer', async (t) => {
  t.equal(withQuery('https://app.example/cb', { code: 'c', state: 's t' }), 'https://app.example/cb?code=c&state=s+t');
  t.equal(withQuery('https://app.example/cb?tab=2&x=a%20b', { code: 'c' }), 'https://app.example/cb?tab=2&x=a%20b&code=c');
  // The registered string as matched, not re-serialized by a URL parser.
  t.equal(withQuery('http://localhost:3000', { code: 'c' }), 'http://localhost:3000?code=c');
  t.equal(withQuery('HTTPS://app.example/cb?x=%7e', { code: 'c' }), 'HTTPS://app.example/cb?x=%7e&code=c');
  t.equal(withQuery('https://app.example/', { error: 'access_denied', state: '&=?#' }), 'https://app.example/?error=access_denied&state=%26%3D%3F%23');
  t.ok(hasCodeResponseParams('https://app.example/?code=1'));
  t.ok(hasCodeResponseParams('https://app.example/?a=1&state'));
  t.notOk(hasCodeResponseParams('https://app.example/?codes=1&mystate=2'));
});
