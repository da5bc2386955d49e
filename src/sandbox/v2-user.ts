// GET /2/users/me as X answers it: the query checked the way API v2 checks
// it, and the user object with id, name and username always and anything
// else only when `user.fields` asks for it.
import { confirmedEmailOf, type SandboxUser } from './users.js';

/** The query parameters /2/users/me takes; API v2 refuses any other. */
const QUERY_PARAMETERS: ReadonlySet<string> = new Set(['expansions', 'tweet.fields', 'user.fields']);

/** The values `user.fields` takes (docs.x.com, x-api/fundamentals/data-dictionary, User object). */
export const USER_FIELDS: readonly string[] = [
  'affiliation',
  'confirmed_email',
  'connection_status',
  'created_at',
  'description',
  'entities',
  'id',
  'is_identity_verified',
  'location',
  'most_recent_tweet_id',
  'name',
  'parody',
  'pinned_tweet_id',
  'profile_banner_url',
  'profile_image_url',
  'protected',
  'public_metrics',
  'receives_your_dm',
  'subscription',
  'subscription_type',
  'url',
  'username',
  'verified',
  'verified_followers_count',
  'verified_type',
  'withheld',
];
const KNOWN_USER_FIELDS: ReadonlySet<string> = new Set(USER_FIELDS);

/** API v2's answer to a request it cannot read (HTTP 400). */
export interface InvalidRequestBody {
  readonly errors: readonly { readonly parameters: Readonly<Record<string, readonly string[]>>; readonly message: string }[];
  readonly title: 'Invalid Request';
  readonly detail: 'One or more parameters to your request was invalid.';
  readonly type: 'https://api.twitter.com/2/problems/invalid-request';
}

export type UserFieldsRead = { readonly ok: true; readonly fields: ReadonlySet<string> } | { readonly ok: false; readonly body: InvalidRequestBody };

/** Reads the raw query of /2/users/me: the fields asked for, or API v2's 400 body. */
export function readUserFieldsQuery(rawQuery: string): UserFieldsRead {
  const query = new URLSearchParams(rawQuery);
  const names = [...new Set(query.keys())];
  const unknown = names.filter((name) => !QUERY_PARAMETERS.has(name));
  if (unknown.length > 0) {
    return invalid(
      unknown.map((name) => ({
        parameters: { [name]: query.getAll(name) },
        message: `The query parameter [${name}] is not one of [${[...QUERY_PARAMETERS].join(',')}]`,
      })),
    );
  }
  const repeated = names.filter((name) => query.getAll(name).length > 1);
  if (repeated.length > 0) {
    return invalid(repeated.map((name) => ({ parameters: { [name]: query.getAll(name) }, message: `Duplicate parameters are not allowed: ${name}` })));
  }
  const value = query.get('user.fields') ?? '';
  const fields = value === '' ? [] : value.split(',');
  const badFields = fields.filter((field) => !KNOWN_USER_FIELDS.has(field));
  if (badFields.length > 0) {
    return invalid(
      badFields.map((field) => ({
        parameters: { 'user.fields': [field] },
        message: `The \`user.fields\` query parameter value [${field}] is not one of [${USER_FIELDS.join(',')}]`,
      })),
    );
  }
  return { ok: true, fields: new Set(fields) };
}

/**
 * The user object. The sandbox holds only id, name, username, picture and
 * email; other fields asked for are left out, as X leaves out what a user
 * does not have. confirmed_email needs the users.email scope and a confirmed
 * address.
 */
export function toV2User(user: SandboxUser, fields: ReadonlySet<string>, scopes: readonly string[]): Record<string, string> {
  const picture = user.profile_image_url_https;
  const email = confirmedEmailOf(user);
  return {
    id: user.id_str,
    name: user.name,
    username: user.screen_name,
    ...(fields.has('profile_image_url') && picture !== null ? { profile_image_url: picture } : {}),
    ...(fields.has('confirmed_email') && scopes.includes('users.email') && email !== null ? { confirmed_email: email } : {}),
  };
}

function invalid(errors: InvalidRequestBody['errors']): UserFieldsRead {
  return {
    ok: false,
    body: {
      errors,
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    },
  };
}
