// What POST /token checks beyond the TokenRequest schema: empty parameters,
// the parameters each grant_type needs, and the RFC 6749 §5.2 code of a
// schema failure. (Types, lengths and characters: request-validation.test.ts.)
import t from 'tap';
import { parseLogoutRequest } from '../../../src/sessions/logout-params.js';
import { omitEmptyParameters, parseTokenRequest, tokenSchemaErrorCode, type TokenRequestBody } from '../../../src/sessions/token-params.js';

t.test('each grant_type with the parameters it needs', async (t) => {
  t.same(parseTokenRequest({ grant_type: 'refresh_token', refresh_token: 'r', code: 'ignored' }), {
    ok: true,
    value: { grantType: 'refresh_token', refreshToken: 'r' },
  });
  t.same(parseTokenRequest({ grant_type: 'authorization_code', code: 'c', code_verifier: 'v', redirect_uri: 'https://a/', refresh_token: 'ignored' }), {
    ok: true,
    value: { grantType: 'authorization_code', code: 'c', codeVerifier: 'v', redirectUri: 'https://a/' },
  });
  // Whether code_verifier may be left out depends on the client (the token route decides): missing or empty, it is absent.
  for (const verifier of [{}, { code_verifier: '' }]) {
    t.same(parseTokenRequest({ grant_type: 'authorization_code', code: 'c', redirect_uri: 'https://a/', ...verifier }), {
      ok: true,
      value: { grantType: 'authorization_code', code: 'c', codeVerifier: undefined, redirectUri: 'https://a/' },
    });
  }
});

t.test('a parameter the grant_type needs is missing or empty', async (t) => {
  const cases: Array<[TokenRequestBody, RegExp]> = [
    [{ grant_type: 'refresh_token' }, /^refresh_token is required with grant_type=refresh_token$/],
    [{ grant_type: 'refresh_token', refresh_token: '' }, /^refresh_token is required/],
    [{ grant_type: 'refresh_token', code: 'c', code_verifier: 'v', redirect_uri: 'u' }, /^refresh_token is required/],
    [{ grant_type: 'authorization_code', code_verifier: 'v', redirect_uri: 'u' }, /^code is required with grant_type=authorization_code$/],
    [{ grant_type: 'authorization_code', code: 'c', code_verifier: 'v' }, /^redirect_uri is required/],
    [{ grant_type: 'authorization_code', refresh_token: 'r' }, /^code is required/],
  ];
  for (const [body, reason] of cases) {
    const check = parseTokenRequest(body);
    t.equal(check.ok, false, JSON.stringify(body));
    if (!check.ok) t.match(check.reason, reason, JSON.stringify(body));
  }
});

t.test('empty parameters count as absent (RFC 6749 §3.1)', async (t) => {
  t.same(omitEmptyParameters({ grant_type: '', code: 'c', code_verifier: '', n: 0, list: ['', ''] }), { code: 'c', n: 0, list: ['', ''] });
  t.same(omitEmptyParameters({}), {});
  for (const notAnObject of [undefined, null, '', 'grant_type=', ['']]) {
    t.same(omitEmptyParameters(notAnObject), notAnObject, 'left for the schema to refuse');
  }
  const form = Object.assign(Object.create(null) as object, { grant_type: 'refresh_token', refresh_token: '' });
  t.same(omitEmptyParameters(form), { grant_type: 'refresh_token' }, 'a form body (no prototype) too');
});

t.test('a schema failure is unsupported_grant_type only for an unknown grant_type (RFC 6749 §5.2)', async (t) => {
  const error = (instancePath: string, keyword: string) => ({ instancePath, keyword, params: {} });
  t.equal(tokenSchemaErrorCode([error('/grant_type', 'enum')]), 'unsupported_grant_type');
  t.equal(tokenSchemaErrorCode([error('/grant_type', 'type')]), 'invalid_request', 'grant_type repeated or not a string');
  t.equal(tokenSchemaErrorCode([error('', 'required')]), 'invalid_request', 'grant_type missing');
  t.equal(tokenSchemaErrorCode([error('/code_verifier', 'minLength')]), 'invalid_request');
  t.equal(tokenSchemaErrorCode([error('/code_verifier', 'pattern')]), 'invalid_request');
  t.equal(tokenSchemaErrorCode([error('', 'type')]), 'invalid_request', 'not an object');
  t.equal(tokenSchemaErrorCode([]), 'invalid_request');
  t.equal(tokenSchemaErrorCode(null), 'invalid_request');
});

t.test('logout needs a refresh token or an Authorization header', async (t) => {
  t.same(parseLogoutRequest({ refresh_token: 'r', return_to: 'https://a/' }, false), { ok: true, refreshToken: 'r', returnTo: 'https://a/' });
  t.same(parseLogoutRequest({}, true), { ok: true, refreshToken: undefined, returnTo: undefined });
  t.same(parseLogoutRequest({ refresh_token: '', return_to: '' }, true), { ok: true, refreshToken: undefined, returnTo: undefined });
  for (const body of [{}, { return_to: 'https://a/' }, { refresh_token: '' }]) {
    const check = parseLogoutRequest(body, false);
    t.equal(check.ok, false, JSON.stringify(body));
    if (!check.ok) t.match(check.reason, /refresh token in the body or the access token/);
  }
});
