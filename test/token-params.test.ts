import t from 'tap';
import { parseTokenRequest } from '../src/token-params.js';

t.test('valid requests', async (t) => {
  t.same(parseTokenRequest({ grant_type: 'refresh_token', refresh_token: 'r', client_id: 'ignored' }), {
    ok: true,
    value: { grantType: 'refresh_token', refreshToken: 'r' },
  });
  t.same(parseTokenRequest({ grant_type: 'authorization_code', code: 'c', code_verifier: 'v', redirect_uri: 'https://a/' }), {
    ok: true,
    value: { grantType: 'authorization_code', code: 'c', codeVerifier: 'v', redirectUri: 'https://a/' },
  });
});

t.test('invalid requests', async (t) => {
  const cases: Array<[unknown, string, RegExp]> = [
    [undefined, 'invalid_request', /form-encoded or a JSON object/],
    ['grant_type=refresh_token', 'invalid_request', /form-encoded or a JSON object/],
    [[], 'invalid_request', /JSON object/],
    [{}, 'invalid_request', /grant_type is required/],
    [{ grant_type: '' }, 'invalid_request', /grant_type is required/],
    [{ grant_type: ['refresh_token', 'refresh_token'] }, 'invalid_request', /once/],
    [{ grant_type: 'client_credentials' }, 'unsupported_grant_type', /authorization_code or refresh_token/],
    [{ grant_type: 'refresh_token' }, 'invalid_request', /refresh_token is required/],
    [{ grant_type: 'refresh_token', refresh_token: 7 }, 'invalid_request', /string/],
    [{ grant_type: 'refresh_token', refresh_token: 'x'.repeat(2049) }, 'invalid_request', /longer/],
    [{ grant_type: 'authorization_code', code_verifier: 'v', redirect_uri: 'u' }, 'invalid_request', /code is required/],
    [{ grant_type: 'authorization_code', code: 'c', redirect_uri: 'u' }, 'invalid_request', /code_verifier is required/],
    [{ grant_type: 'authorization_code', code: 'c', code_verifier: 'v' }, 'invalid_request', /redirect_uri is required/],
    [{ grant_type: 'authorization_code', code: ['c', 'd'], code_verifier: 'v', redirect_uri: 'u' }, 'invalid_request', /once/],
  ];
  for (const [body, error, reason] of cases) {
    const check = parseTokenRequest(body);
    t.equal(check.ok, false, JSON.stringify(body));
    if (!check.ok) {
      t.equal(check.error, error);
      t.match(check.reason, reason);
    }
  }
});
