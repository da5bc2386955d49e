// The sign-in hook's answer, parsed strictly: the hook decides who may sign
// in and what goes into their tokens, so anything but exactly
// {"allow": true, "claims": {…}} or {"allow": false, "reason": "…"} is the
// hook's error, never a guess. Its claims may add to a token but not change
// what roost vouches for: the registered claims (RFC 7519 §4.1), OpenID
// Connect's and roost's own are refused, as is a key JavaScript would read
// as an object's prototype.

export const MAX_CLAIMS_BYTES = 4096;
export const MAX_REASON_LENGTH = 200;
export const DEFAULT_REFUSAL = 'Sign-in was refused';

export const PROTECTED_CLAIMS: ReadonlySet<string> = new Set([
  // RFC 7519 §4.1
  'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti',
  // roost's own
  'sid', 'scope', 'twitter_id', 'screen_name', 'name', 'picture', 'email', 'email_verified', 'client_id',
  // OpenID Connect Core §2, RFC 9068, RFC 7800
  'auth_time', 'nonce', 'azp', 'at_hash', 'typ', 'cnf',
]);

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type HookAnswer =
  | { readonly allow: true; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly allow: false; readonly reason: string }
  | { readonly problem: string };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A reason fit for a person and a log line: printable, one line, at most MAX_REASON_LENGTH characters. */
export function cleanReason(value: string): string {
  const printable = value
    .normalize('NFC')
    // Controls, format characters (bidi overrides, zero-width), separators and unpaired surrogates become spaces.
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  const characters = [...printable];
  const cut = characters.length > MAX_REASON_LENGTH ? `${characters.slice(0, MAX_REASON_LENGTH - 1).join('').trimEnd()}…` : printable;
  return cut === '' ? DEFAULT_REFUSAL : cut;
}

/** Where a problem is found, `problem` says what in words fit for the log (never the answer itself). */
export function parseHookAnswer(body: string): HookAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { problem: 'the answer is not JSON' };
  }
  if (!isObject(parsed)) return { problem: 'the answer is not a JSON object' };
  if (typeof parsed.allow !== 'boolean') return { problem: 'the answer has no boolean "allow"' };
  if (parsed.allow) {
    const unknown = Object.keys(parsed).filter((key) => key !== 'allow' && key !== 'claims');
    if (unknown.length > 0) return { problem: `an allowing answer has members other than "allow" and "claims": ${describeKeys(unknown)}` };
    const claims = 'claims' in parsed ? parsed.claims : {};
    if (!isObject(claims)) return { problem: '"claims" is not a JSON object' };
    const serialized = JSON.stringify(claims);
    // Postgres keeps the claims as jsonb, which holds no NUL and no lone surrogate: such claims are garbage here, not later.
    if (serialized.includes('\\u0000') || /\\ud[89a-f][0-9a-f]{2}/i.test(serialized)) {
      return { problem: '"claims" holds a NUL character or a lone surrogate' };
    }
    const size = Buffer.byteLength(serialized);
    if (size > MAX_CLAIMS_BYTES) return { problem: `"claims" is ${size} bytes serialized, more than ${MAX_CLAIMS_BYTES}` };
    const forbidden = Object.keys(claims).filter((key) => PROTECTED_CLAIMS.has(key) || PROTOTYPE_KEYS.has(key));
    if (forbidden.length > 0) return { problem: `"claims" sets claims roost owns: ${describeKeys(forbidden)}` };
    return { allow: true, claims };
  }
  const unknown = Object.keys(parsed).filter((key) => key !== 'allow' && key !== 'reason');
  if (unknown.length > 0) return { problem: `a refusing answer has members other than "allow" and "reason": ${describeKeys(unknown)}` };
  if (parsed.reason !== undefined && typeof parsed.reason !== 'string') return { problem: '"reason" is not a string' };
  return { allow: false, reason: cleanReason(parsed.reason ?? '') };
}

/** Member names as the log shows them: a few, each short and printable. */
function describeKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((key) => JSON.stringify([...key.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, '?')].slice(0, 40).join('')));
  return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ');
}
