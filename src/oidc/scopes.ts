// The scope values roost understands (OIDC Core §5.4, §11). Others are
// ignored, as §3.1.2.1 and §5.4 ask: "Scope values used that are not
// understood by an implementation SHOULD be ignored."

export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
export type OidcScope = (typeof OIDC_SCOPES)[number];

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export type ScopeCheck = { readonly ok: true; readonly scopes: readonly OidcScope[] } | { readonly ok: false; readonly reason: string };

/**
 * The understood scopes of a space-delimited `scope`, each once, in the
 * order of OIDC_SCOPES. Runs of spaces are tolerated; a token outside the
 * RFC 6749 alphabet is not.
 */
export function parseScope(scope: string): ScopeCheck {
  const tokens = scope.split(' ').filter((token) => token !== '');
  if (tokens.length === 0) return { ok: false, reason: 'scope is empty: it must contain openid' };
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) return { ok: false, reason: 'scope must be space-separated printable ASCII words without quotes or backslashes' };
  if (!tokens.includes('openid')) return { ok: false, reason: 'scope must contain openid' };
  return { ok: true, scopes: OIDC_SCOPES.filter((known) => tokens.includes(known)) };
}
