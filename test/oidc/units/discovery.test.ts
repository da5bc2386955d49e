import t from 'tap';
import { OIDC_PATHS, discoveryDocument } from '../../../src/oidc/discovery.js';
import { OIDC_CLAIMS } from '../../../src/oidc/id-token.js';

t.test('the full document for an issuer at the root', async (t) => {
  t.strictSame(JSON.parse(JSON.stringify(discoveryDocument('https://id.example.com', { idTokenAlgs: ['ES256', 'RS256', 'EdDSA'] }))), {
    issuer: 'https://id.example.com',
    authorization_endpoint: 'https://id.example.com/authorize',
    token_endpoint: 'https://id.example.com/token',
    userinfo_endpoint: 'https://id.example.com/userinfo',
    jwks_uri: 'https://id.example.com/.well-known/jwks.json',
    end_session_endpoint: 'https://id.example.com/end_session',
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [...OIDC_CLAIMS],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  });
});

t.test('OIDC Discovery §3: the required members are there', async (t) => {
  const document = discoveryDocument('https://id.example.com', { idTokenAlgs: ['RS256'] }) as unknown as Record<string, unknown>;
  for (const member of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported']) {
    t.ok(document[member], member);
  }
  t.ok((document.scopes_supported as string[]).includes('openid'), 'scopes_supported has openid (§3 SHOULD)');
  t.same(document.id_token_signing_alg_values_supported, ['RS256']);
  t.ok(Object.isFrozen(document));
});

t.test('the issuer is PUBLIC_URL exactly (§4.3); endpoints hang off it, path included', async (t) => {
  const document = discoveryDocument('https://example.com/auth', { idTokenAlgs: ['RS256'] });
  t.equal(document.issuer, 'https://example.com/auth');
  t.equal(document.authorization_endpoint, 'https://example.com/auth/authorize');
  t.equal(document.end_session_endpoint, 'https://example.com/auth/end_session');
  t.equal(`${document.issuer}${OIDC_PATHS.discovery}`, 'https://example.com/auth/.well-known/openid-configuration');
  const slashed = discoveryDocument('http://localhost:3000/', { idTokenAlgs: ['RS256'] });
  t.equal(slashed.issuer, 'http://localhost:3000/', 'kept as given');
  t.equal(slashed.token_endpoint, 'http://localhost:3000/token', 'no double slash');
});

t.test('RS256 must be among the algorithms (§3); each listed once, in a fixed order', async (t) => {
  t.throws(() => discoveryDocument('https://id.example.com', { idTokenAlgs: ['ES256', 'EdDSA'] }), /RS256/);
  t.throws(() => discoveryDocument('https://id.example.com', { idTokenAlgs: [] }), /RS256/);
  t.same(discoveryDocument('https://id.example.com', { idTokenAlgs: ['EdDSA', 'RS256', 'EdDSA'] }).id_token_signing_alg_values_supported, ['RS256', 'EdDSA']);
});
