// An audit event's `detail`: a small flat object of scalars that says what
// the columns cannot (an error code, a key id, the reason a session ended).
// It is stored for months and sent to the webhook, so it must never hold a
// secret: the writer keeps only what passes here and reports the rest by
// key name (never by value), which a test of the calling code then catches.

export type AuditDetailValue = string | number | boolean | null;
export type AuditDetail = Readonly<Record<string, AuditDetailValue>>;

export const MAX_DETAIL_KEYS = 16;
export const MAX_DETAIL_STRING = 200;
/** Bytes of the serialized object. */
export const MAX_DETAIL_BYTES = 1024;

export type DetailRefusal = 'not_an_object' | 'bad_key' | 'secret_key' | 'not_scalar' | 'too_long' | 'looks_like_a_secret' | 'too_many_keys' | 'too_large';

export interface CleanedDetail {
  readonly detail: AuditDetail;
  /** What was left out and why; empty when everything was kept. */
  readonly refused: ReadonlyArray<{ readonly key: string; readonly why: DetailRefusal }>;
}

const KEY = /^[a-z][a-z0-9_]{0,39}$/;

/** Words that name a secret, as a whole segment of a snake_case key. `reason` is the key for error codes. */
const SECRET_WORDS = new Set([
  'token', 'tokens', 'secret', 'secrets', 'password', 'passwd', 'pass', 'cookie', 'cookies', 'authorization',
  'credential', 'credentials', 'verifier', 'key', 'code', 'jwt', 'bearer', 'otp', 'pin', 'signature',
]);

/** Values that are a credential whatever their key says. */
const SECRET_SHAPES: readonly RegExp[] = [
  /^eyJ[\w-]*\.[\w-]*\./, // a JWS or JWE (RFC 7515, 7516): a header that starts '{"'
  /^(bearer|basic|dpop)\s/i, // an Authorization header's value
  /^whsec_/, // a Standard Webhooks secret
  /-----BEGIN /, // a PEM key
  /(^|[?&#;\s])(code|state|[a-z_]*token|oauth_verifier|code_verifier)=/i, // a URL or cookie that carries one
];

/** A long run of base64, base64url or hex with nothing else: how random tokens and keys look. */
const OPAQUE = /^[A-Za-z0-9_+/=-]{32,}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A signing key's id is an RFC 7638 thumbprint, opaque but public (it is in the JWKS). */
const PUBLIC_OPAQUE_KEY = /(^|_)kid$/;

/** Key names holding a secret word that name something public: an admin API key's id (a prefix of its SHA-256). */
const PUBLIC_KEY_NAMES = new Set(['key_id']);

function refusalOf(key: string, value: unknown): DetailRefusal | undefined {
  if (!KEY.test(key)) return 'bad_key';
  if (!PUBLIC_KEY_NAMES.has(key) && key.split('_').some((word) => SECRET_WORDS.has(word))) return 'secret_key';
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'not_scalar';
  if (typeof value !== 'string') return 'not_scalar';
  if (value.length > MAX_DETAIL_STRING) return 'too_long';
  if (SECRET_SHAPES.some((shape) => shape.test(value))) return 'looks_like_a_secret';
  if (OPAQUE.test(value) && !UUID.test(value) && !PUBLIC_OPAQUE_KEY.test(key)) return 'looks_like_a_secret';
  return undefined;
}

const byteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

export function cleanAuditDetail(detail: unknown): CleanedDetail {
  if (detail === undefined) return { detail: {}, refused: [] };
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail) || Object.getPrototypeOf(detail) !== Object.prototype) {
    return { detail: {}, refused: [{ key: '', why: 'not_an_object' }] };
  }
  const kept: Record<string, AuditDetailValue> = {};
  const refused: Array<{ key: string; why: DetailRefusal }> = [];
  let count = 0;
  for (const [key, value] of Object.entries(detail)) {
    // The key as reported: a bad one is shortened, it may be anything.
    const named = key.slice(0, 40);
    const why = refusalOf(key, value);
    if (why !== undefined) refused.push({ key: named, why });
    else if (count >= MAX_DETAIL_KEYS) refused.push({ key: named, why: 'too_many_keys' });
    else {
      kept[key] = value as AuditDetailValue;
      count += 1;
    }
  }
  // Within every per-value bound the whole may still be too large: the last keys go first.
  const keys = Object.keys(kept);
  while (byteLength(kept) > MAX_DETAIL_BYTES) {
    const last = keys.pop() as string;
    delete kept[last];
    refused.push({ key: last, why: 'too_large' });
  }
  return { detail: kept, refused };
}
