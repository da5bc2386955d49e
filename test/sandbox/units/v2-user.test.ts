import t from 'tap';
import { createDefaultSandboxUsers, type SandboxUser } from '../../../src/sandbox/users.js';
import { readUserFieldsQuery, toV2User, USER_FIELDS } from '../../../src/sandbox/v2-user.js';

t.test('user.fields: the known names, comma-separated', async (t) => {
  const fields = (raw: string) => {
    const read = readUserFieldsQuery(raw);
    return read.ok ? [...read.fields] : read.body;
  };
  t.same(fields(''), []);
  t.same(fields('user.fields='), [], 'empty is none');
  t.same(fields('user.fields=id,name,username,profile_image_url,confirmed_email'), ['id', 'name', 'username', 'profile_image_url', 'confirmed_email']);
  t.same(fields('user.fields=confirmed_email&expansions=pinned_tweet_id&tweet.fields=created_at'), ['confirmed_email'], 'the other v2 parameters are taken');
  t.ok(USER_FIELDS.includes('confirmed_email'));

  const refusals: [string, string, Record<string, string[]>, RegExp][] = [
    ['an unknown field', 'user.fields=email', { 'user.fields': ['email'] }, /^The `user.fields` query parameter value \[email\] is not one of \[affiliation,confirmed_email,/],
    ['a space after the comma', 'user.fields=id,%20name', { 'user.fields': [' name'] }, /value \[ name\]/],
    ['a trailing comma', 'user.fields=id,', { 'user.fields': [''] }, /value \[\]/],
    ['an unknown parameter', 'fields=id', { fields: ['id'] }, /^The query parameter \[fields\] is not one of \[expansions,tweet.fields,user.fields\]$/],
    ['a repeated parameter', 'user.fields=id&user.fields=name', { 'user.fields': ['id', 'name'] }, /^Duplicate parameters are not allowed: user.fields$/],
  ];
  for (const [name, raw, parameters, message] of refusals) {
    const read = readUserFieldsQuery(raw);
    if (read.ok) {
      t.fail(`${name}: refused`);
      continue;
    }
    t.match(
      read.body,
      {
        errors: [{ parameters, message }],
        title: 'Invalid Request',
        detail: 'One or more parameters to your request was invalid.',
        type: 'https://api.twitter.com/2/problems/invalid-request',
      },
      name,
    );
  }
});

t.test('the user object: id, name and username always; the rest when asked and held', async (t) => {
  const [alice, bob, carol] = createDefaultSandboxUsers() as [SandboxUser, SandboxUser, SandboxUser];
  const all = new Set(['profile_image_url', 'confirmed_email']);
  const withEmail = ['tweet.read', 'users.read', 'users.email'];
  t.same(toV2User(alice, new Set(), withEmail), { id: alice.id_str, name: alice.name, username: alice.screen_name });
  t.same(toV2User(alice, all, withEmail), {
    id: alice.id_str,
    name: alice.name,
    username: alice.screen_name,
    profile_image_url: alice.profile_image_url_https,
    confirmed_email: alice.email,
  });
  t.same(toV2User(alice, all, ['tweet.read', 'users.read']), {
    id: alice.id_str,
    name: alice.name,
    username: alice.screen_name,
    profile_image_url: alice.profile_image_url_https,
  }, 'no users.email scope, no email');
  t.same(toV2User(bob, all, withEmail), { id: bob.id_str, name: bob.name, username: bob.screen_name, confirmed_email: bob.email }, 'no picture held');
  t.same(toV2User(carol, all, withEmail), { id: carol.id_str, name: carol.name, username: carol.screen_name }, 'no email held');
  t.same(toV2User({ ...bob, email_confirmed: false }, all, withEmail), { id: bob.id_str, name: bob.name, username: bob.screen_name }, 'an unconfirmed address');
});
