// The parameters of a browser request to the OpenID Connect endpoints
// (/authorize, /end_session) as a route hands them over: each name with its
// decoded value, or every value when the name came more than once. The
// rules here are RFC 6749 §3.1's, which OIDC Core §3.1.2.1 and
// RP-Initiated Logout 1.0 §2 inherit: a parameter sent without a value is
// treated as omitted, and none may be included more than once (never first-
// or last-wins, which is how parameter pollution slips through).

export type RawParams = Readonly<Record<string, string | readonly string[] | undefined>>;

export type ParamValue =
  | { readonly kind: 'absent' }
  | { readonly kind: 'repeated' }
  | { readonly kind: 'given'; readonly value: string };

const ABSENT: ParamValue = { kind: 'absent' };
const REPEATED: ParamValue = { kind: 'repeated' };

export function readParam(params: RawParams, name: string): ParamValue {
  // Own properties only: `constructor` or `__proto__` is a parameter name like any other.
  if (!Object.hasOwn(params, name)) return ABSENT;
  const raw = params[name];
  if (raw === undefined) return ABSENT;
  if (typeof raw !== 'string') {
    if (raw.length > 1) return REPEATED;
    const [only] = raw;
    return only === undefined || only === '' ? ABSENT : { kind: 'given', value: only };
  }
  return raw === '' ? ABSENT : { kind: 'given', value: raw };
}

/**
 * `state`: 1 to 512 characters of VSCHAR (RFC 6749 Appendix A.5, printable
 * ASCII with space), the limit GET /login sets in openapi.yaml. It is sent
 * back in a URL, so nothing else is echoed.
 */
export const STATE_MAX_LENGTH = 512;
/** `nonce` goes into the ID token as given: the same alphabet and limit as `state`. */
export const NONCE_MAX_LENGTH = 512;

export function isVsChars(value: string, maxLength: number): boolean {
  return value.length >= 1 && value.length <= maxLength && /^[\x20-\x7e]+$/.test(value);
}
