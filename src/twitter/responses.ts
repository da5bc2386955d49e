// Pure parsers for what Twitter answers. Every answer is untrusted: a field
// that is missing, repeated or odd makes the whole answer unusable.

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const TOKEN_VALUE = /^[\x21-\x7e]{1,512}$/;

/** A form-encoded token answer (request_token, access_token) holding each named field exactly once. */
export function parseFormAnswer<K extends string>(body: string, fields: readonly K[]): Parsed<Record<K, string>> {
  const params = new URLSearchParams(body.trim());
  const result = {} as Record<K, string>;
  for (const field of fields) {
    const values = params.getAll(field);
    if (values.length !== 1) return { ok: false, reason: `expected exactly one ${field}, got ${values.length}` };
    const value = values[0] as string;
    if (!TOKEN_VALUE.test(value)) return { ok: false, reason: `${field} is empty or malformed` };
    result[field] = value;
  }
  return { ok: true, value: result };
}

export interface TwitterErrorBody {
  readonly code: number | undefined;
  readonly message: string | undefined;
}

/** Twitter's errors: JSON `{"errors":[{"code":…,"message":…}]}`, or XML from the OAuth endpoints. */
export function parseTwitterError(body: string): TwitterErrorBody {
  try {
    const json: unknown = JSON.parse(body);
    const first = (json as { errors?: unknown }).errors;
    if (Array.isArray(first) && first.length > 0) {
      const entry = first[0] as { code?: unknown; message?: unknown };
      return {
        code: typeof entry.code === 'number' ? entry.code : undefined,
        message: typeof entry.message === 'string' ? entry.message : undefined,
      };
    }
  } catch {
    // Not JSON; try XML below.
  }
  const xml = /<error\b[^>]*\bcode="(\d+)"[^>]*>([^<]*)<\/error>/.exec(body);
  if (xml) return { code: Number(xml[1]), message: xml[2]?.trim() };
  return { code: undefined, message: undefined };
}

export interface ProfileAnswer {
  readonly twitterId: string;
  readonly screenName: string;
  readonly name: string;
  readonly picture: string | null;
  readonly email: string | null;
}

/** verify_credentials.json: ids are taken from id_str only, since `id` loses precision past 2^53. */
export function parseProfile(body: string): Parsed<ProfileAnswer> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the profile is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: 'the profile is not an object' };
  }
  const user = json as Record<string, unknown>;
  // verify_credentials carries the https picture in its own field; `email` only when the app may read it and the user confirmed one.
  return checkedProfile({ id: user.id_str, username: user.screen_name, name: user.name, picture: user.profile_image_url_https, email: user.email });
}

/** X's user ids: decimal, up to 19 digits today; `id` fields past 2^53 are never read. */
const USER_ID = /^[1-9]\d{0,19}$/;
/** X's handles: letters, digits and underscores (15 at most today; older accounts may be longer). */
const USERNAME = /^[A-Za-z0-9_]{1,50}$/;
/** An address as an address: no spaces, quotes, angle brackets or other markup; one @; a dot in the domain. */
const EMAIL = /^[^\s@<>()[\]\\,;:"']{1,64}@[^\s@<>()[\]\\,;:"']+\.[^\s@<>()[\]\\,;:"']+$/;
/** Control characters and the bidirectional overrides that would make a name read differently than it is. */
const UNPRINTABLE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * The profile either protocol returned, held to X's own formats: an answer
 * outside them is unusable (it would be stored, and signed into tokens), not
 * cleaned up. The display name is free text: unprintable characters go.
 */
export function checkedProfile(fields: { id: unknown; username: unknown; name: unknown; picture: unknown; email: unknown }): Parsed<ProfileAnswer> {
  if (typeof fields.id !== 'string' || !USER_ID.test(fields.id)) return { ok: false, reason: 'the profile has no valid user id' };
  if (typeof fields.username !== 'string' || !USERNAME.test(fields.username)) return { ok: false, reason: 'the profile has no valid username' };
  const name = typeof fields.name === 'string' ? fields.name.replace(UNPRINTABLE, '').trim().slice(0, 200) : '';
  const email = typeof fields.email === 'string' && fields.email.length <= 254 && EMAIL.test(fields.email) ? fields.email : null;
  return {
    ok: true,
    value: { twitterId: fields.id, screenName: fields.username, name: name === '' ? fields.username : name, picture: httpsUrlOrNull(fields.picture), email },
  };
}

function httpsUrlOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** The problem codes Twitter's own error codes map to. */
export type TwitterProblemCode =
  | 'twitter_auth_failed'
  | 'twitter_token_invalid'
  | 'twitter_clock_skew'
  | 'twitter_bad_authentication_data'
  | 'twitter_callback_not_approved'
  | 'twitter_app_suspended'
  | 'twitter_unavailable';

export interface TwitterFailureContext {
  readonly endpoint: string;
  readonly status: number;
  readonly error: TwitterErrorBody;
  /** The oauth_callback roost sent, named in the 415 detail. */
  readonly callbackUrl?: string;
  /** Local clock minus Twitter's, from the answer's Date header. */
  readonly clockSkewSeconds?: number;
}

/**
 * What an error answer from Twitter means for the operator. The codes are
 * Twitter's documented ones; each detail says what to fix.
 */
export function describeTwitterFailure(context: TwitterFailureContext): { code: TwitterProblemCode; detail: string } {
  const { endpoint, status, error } = context;
  const tag = error.code !== undefined ? ` (Twitter error ${error.code})` : '';
  switch (error.code) {
    case 32:
      return {
        code: 'twitter_auth_failed',
        detail: `Twitter could not authenticate roost at ${endpoint}${tag}: check TWITTER_CONSUMER_KEY and TWITTER_CONSUMER_SECRET (the app's API key and secret, not OAuth 2.0 client credentials)`,
      };
    case 89:
      return { code: 'twitter_token_invalid', detail: `Twitter refused the token at ${endpoint} as invalid or expired${tag}; start the sign-in again` };
    case 135:
      return { code: 'twitter_clock_skew', detail: `Twitter refused the request timestamp at ${endpoint}${tag}: this server's clock is off${describeSkew(context.clockSkewSeconds)}; synchronise it (NTP)` };
    case 215:
      return {
        code: 'twitter_bad_authentication_data',
        detail: `Twitter found the OAuth data of the request to ${endpoint} missing or malformed${tag}: check that TWITTER_API_URL points at Twitter and that no proxy in between drops the Authorization header`,
      };
    case 415:
      return {
        code: 'twitter_callback_not_approved',
        detail: `Twitter refused the callback URL${tag}: register ${context.callbackUrl ?? 'PUBLIC_URL/login/callback'} as a callback URL in the Twitter app settings`,
      };
    case 416:
      return { code: 'twitter_app_suspended', detail: `Twitter reports the app of TWITTER_CONSUMER_KEY as invalid or suspended${tag}: check it in the Twitter developer portal` };
    default:
      return { code: 'twitter_unavailable', detail: `Twitter answered ${endpoint} with HTTP ${status}${tag}` };
  }
}

function describeSkew(seconds: number | undefined): string {
  if (seconds === undefined || Math.abs(seconds) < 1) return '';
  return ` (about ${Math.abs(Math.round(seconds))} s ${seconds > 0 ? 'ahead of' : 'behind'} Twitter's)`;
}

/** Local clock minus the answer's Date header (RFC 9110 §6.6.1), in seconds; undefined without a usable header. */
export function clockSkewSeconds(dateHeader: string | null, localNowMs: number): number | undefined {
  if (dateHeader === null) return undefined;
  const remote = Date.parse(dateHeader);
  if (Number.isNaN(remote)) return undefined;
  return Math.round((localNowMs - remote) / 1000);
}

/**
 * Twitter's own message, made safe to log: one short line of printable
 * characters, without the token (or any other secret) the request carried
 * and without the values of any OAuth parameters it echoes.
 */
export function loggableMessage(message: string | undefined, ...sentSecrets: ReadonlyArray<string | undefined>): string | undefined {
  if (message === undefined) return undefined;
  let blanked = message;
  for (const secret of sentSecrets) if (secret) blanked = blanked.split(secret).join('[token]');
  const safe = blanked.replace(/(oauth_[a-z_]+)\s*=\s*("[^"]*"|[^\s,&]*)/gi, '$1=[redacted]');
  return safe.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
