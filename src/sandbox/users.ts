// The people who can "sign in with Twitter" in the sandbox. Ids are past 2^53
// on purpose, as real Twitter ids are, so any code that reads `id` instead of
// `id_str` loses precision and fails its tests.

/**
 * The fields of a Twitter v1.1 user object that roost reads, plus whether the
 * email is confirmed: X hands out only confirmed addresses (1.0a's `email` is
 * null otherwise, 2.0's `confirmed_email` is left out). API v2 names them
 * `id`, `username` and `profile_image_url`.
 */
export interface SandboxUser {
  id_str: string;
  screen_name: string;
  name: string;
  email: string | null;
  email_confirmed: boolean;
  profile_image_url_https: string | null;
}

/** Fresh objects on every call, so a test may rename or remove a user without touching another test. */
export function createDefaultSandboxUsers(): SandboxUser[] {
  return [
    {
      id_str: '1240000000000000001',
      screen_name: 'alice',
      name: 'Alice Example',
      email: 'alice@example.com',
      email_confirmed: true,
      profile_image_url_https: 'https://pbs.twimg.com/profile_images/1240000000000000001/alice_normal.png',
    },
    {
      id_str: '1240000000000000002',
      screen_name: 'bob',
      name: 'Bob Example',
      email: 'bob@example.com',
      email_confirmed: true,
      profile_image_url_https: null,
    },
    {
      // Twitter returns no email for accounts without a verified one; roost must cope.
      id_str: '1240000000000000003',
      screen_name: 'carol_no_email',
      name: 'Carol (no email)',
      email: null,
      email_confirmed: false,
      profile_image_url_https: null,
    },
  ];
}

/** The address X would hand out: only a confirmed one. */
export function confirmedEmailOf(user: SandboxUser): string | null {
  return user.email_confirmed ? user.email : null;
}
