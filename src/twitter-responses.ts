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
  if (typeof user.id_str !== 'string' || !/^[1-9]\d{0,30}$/.test(user.id_str)) {
    return { ok: false, reason: 'the profile has no valid id_str' };
  }
  if (typeof user.screen_name !== 'string' || user.screen_name === '' || user.screen_name.length > 100) {
    return { ok: false, reason: 'the profile has no valid screen_name' };
  }
  const name = typeof user.name === 'string' ? user.name.slice(0, 200) : user.screen_name;
  return {
    ok: true,
    value: {
      twitterId: user.id_str,
      screenName: user.screen_name,
      name,
      picture: httpsUrlOrNull(user.profile_image_url_https),
      // Optional: present only when the app may read it and the user has a verified one. Never invented.
      email: typeof user.email === 'string' && user.email.includes('@') && user.email.length <= 320 ? user.email : null,
    },
  };
}

function httpsUrlOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}
