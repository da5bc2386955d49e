// The OpenID Provider Metadata served at /.well-known/openid-configuration
// (OIDC Discovery 1.0 §3, §4). `issuer` is PUBLIC_URL exactly, the `iss` of
// every token (§4.3), and each endpoint hangs off it.
import { ID_TOKEN_ALGS, TOKEN_ENDPOINT_AUTH_METHODS, type IdTokenAlg } from './clients.js';
import { OIDC_CLAIMS } from './id-token.js';
import { PROMPT_VALUES } from './authorize-request.js';
import { OIDC_SCOPES } from './scopes.js';

/**
 * The paths of the endpoints. The end-session endpoint is /end_session, the
 * name of its metadata field: a page browsers are sent to, apart from
 * POST /logout, which is roost's JSON API for ending a session by token.
 */
export const OIDC_PATHS = {
  discovery: '/.well-known/openid-configuration',
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/.well-known/jwks.json',
  endSession: '/end_session',
} as const;

export interface DiscoveryOptions {
  /** The algorithms roost holds a signing key for; RS256 must be among them (§3). */
  readonly idTokenAlgs: readonly IdTokenAlg[];
}

export interface DiscoveryDocument {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly userinfo_endpoint: string;
  readonly jwks_uri: string;
  readonly end_session_endpoint: string;
  readonly scopes_supported: readonly string[];
  readonly response_types_supported: readonly string[];
  readonly response_modes_supported: readonly string[];
  readonly grant_types_supported: readonly string[];
  readonly subject_types_supported: readonly string[];
  readonly id_token_signing_alg_values_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly code_challenge_methods_supported: readonly string[];
  readonly claims_supported: readonly string[];
  readonly prompt_values_supported: readonly string[];
  readonly authorization_response_iss_parameter_supported: true;
  readonly claims_parameter_supported: false;
  readonly request_parameter_supported: false;
  readonly request_uri_parameter_supported: false;
}

export function discoveryDocument(publicUrl: string, options: DiscoveryOptions): DiscoveryDocument {
  // §3: "The value RS256 MUST be included", and every client that names no alg gets it.
  if (!options.idTokenAlgs.includes('RS256')) throw new Error('discovery needs an RS256 signing key: OIDC Discovery 1.0 §3 requires RS256');
  const base = publicUrl.replace(/\/$/, '');
  return Object.freeze({
    issuer: publicUrl,
    authorization_endpoint: `${base}${OIDC_PATHS.authorization}`,
    token_endpoint: `${base}${OIDC_PATHS.token}`,
    userinfo_endpoint: `${base}${OIDC_PATHS.userinfo}`,
    jwks_uri: `${base}${OIDC_PATHS.jwks}`,
    end_session_endpoint: `${base}${OIDC_PATHS.endSession}`,
    scopes_supported: [...OIDC_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    // sub is roost's user id, the same for every client (§8); no pairwise subjects.
    subject_types_supported: ['public'],
    // In ID_TOKEN_ALGS order, RS256 first, each once.
    id_token_signing_alg_values_supported: ID_TOKEN_ALGS.filter((alg) => options.idTokenAlgs.includes(alg)),
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [...OIDC_CLAIMS],
    prompt_values_supported: [...PROMPT_VALUES],
    // RFC 9207 §3: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    // Said outright: request_uri_parameter_supported defaults to true (§3).
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  });
}
