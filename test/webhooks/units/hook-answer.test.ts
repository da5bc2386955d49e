// The sign-in hook's answer: exactly allow-with-claims or refuse-with-reason,
// and nothing a hook could use to change what roost vouches for.
import t from 'tap';
import { cleanReason, DEFAULT_REFUSAL, MAX_CLAIMS_BYTES, parseHookAnswer, PROTECTED_CLAIMS } from '../../../src/webhooks/hook-answer.js';

t.test('answers that are taken', async (t) => {
  t.same(parseHookAnswer('{"allow":true,"claims":{"role":"admin","plan":{"tier":2}}}'), { allow: true, claims: { role: 'admin', plan: { tier: 2 } } });
  t.same(parseHookAnswer('{"allow":true}'), { allow: true, claims: {} }, 'no claims: none added');
  t.same(parseHookAnswer('{"allow":true,"claims":{}}'), { allow: true, claims: {} });
  t.same(parseHookAnswer(' {"claims":{"a":1},"allow":true}\n'), { allow: true, claims: { a: 1 } });
  t.same(parseHookAnswer('{"allow":false,"reason":"Your account is suspended"}'), { allow: false, reason: 'Your account is suspended' });
  t.same(parseHookAnswer('{"allow":false}'), { allow: false, reason: DEFAULT_REFUSAL }, 'no reason: a general one');
  const claims = { big: 'x'.repeat(MAX_CLAIMS_BYTES - '{"big":""}'.length) };
  t.same(parseHookAnswer(JSON.stringify({ allow: true, claims })), { allow: true, claims }, 'claims of exactly 4 KB');
});

t.test('answers that are the hook\'s error', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', 'allow', /not JSON/],
    ['HTML', '<html>ok</html>', /not JSON/],
    ['empty', '', /not JSON/],
    ['a list', '[true]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['a bare true', 'true', /not a JSON object/],
    ['no allow', '{"claims":{}}', /no boolean "allow"/],
    ['allow as a string', '{"allow":"true"}', /no boolean "allow"/],
    ['allow as 1', '{"allow":1}', /no boolean "allow"/],
    ['a misspelt member', '{"allow":true,"claim":{}}', /other than "allow" and "claims": "claim"/],
    ['a reason with allow true', '{"allow":true,"reason":"x"}', /other than "allow" and "claims": "reason"/],
    ['claims with allow false', '{"allow":false,"claims":{"a":1}}', /other than "allow" and "reason": "claims"/],
    ['claims a list', '{"allow":true,"claims":[1]}', /"claims" is not a JSON object/],
    ['claims null', '{"allow":true,"claims":null}', /"claims" is not a JSON object/],
    ['claims a string', '{"allow":true,"claims":"role=admin"}', /"claims" is not a JSON object/],
    ['a reason that is not a string', '{"allow":false,"reason":{"text":"no"}}', /"reason" is not a string/],
    ['oversized claims', JSON.stringify({ allow: true, claims: { big: 'x'.repeat(MAX_CLAIMS_BYTES - '{"big":""}'.length + 1) } }), /4097 bytes serialized, more than 4096/],
    ['oversized by multibyte characters', JSON.stringify({ allow: true, claims: { big: 'é'.repeat(2100) } }), /more than 4096/],
    ['sub', '{"allow":true,"claims":{"sub":"someone-else"}}', /claims roost owns: "sub"/],
    ['several at once', '{"allow":true,"claims":{"iss":"x","ok":1,"exp":9999999999,"email":"a@b"}}', /claims roost owns: "iss", "exp", "email"/],
    ['__proto__', '{"allow":true,"claims":{"__proto__":{"admin":true}}}', /claims roost owns: "__proto__"/],
    ['constructor', '{"allow":true,"claims":{"constructor":{"prototype":{}}}}', /claims roost owns: "constructor"/],
  ];
  for (const [name, body, problem] of cases) t.match(parseHookAnswer(body), { problem }, name);
  t.match(parseHookAnswer(`{"allow":true,"x\u202e":1,${Array.from({ length: 7 }, (_, i) => `"k${i}":1`).join(',')}}`), { problem: /"x\?", "k0", "k1", "k2", "k3" and 3 more$/ }, 'member names are shown printable and few');
});

t.test('every protected claim is refused', async (t) => {
  const expected = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sid', 'scope', 'twitter_id', 'screen_name', 'name', 'picture', 'email', 'email_verified', 'auth_time', 'nonce', 'azp', 'at_hash', 'typ', 'cnf', 'client_id'];
  t.same([...PROTECTED_CLAIMS].sort(), [...expected].sort());
  for (const claim of expected) t.match(parseHookAnswer(JSON.stringify({ allow: true, claims: { [claim]: 'x' } })), { problem: /claims roost owns/ }, claim);
  t.same(parseHookAnswer('{"allow":true,"claims":{"Sub":1,"subscription":"pro","roles":["a"]}}'), { allow: true, claims: { Sub: 1, subscription: 'pro', roles: ['a'] } }, 'names are matched exactly');
});

t.test('cleanReason: printable, one line, at most 200 characters', async (t) => {
  t.equal(cleanReason('  Not\ton  the\r\nlist  '), 'Not on the list');
  t.equal(cleanReason('evil\u202etxt.exe\u200b\u0000!'), 'evil txt.exe !', 'bidi overrides, zero-width and NUL are gone');
  t.equal(cleanReason('\u0007\u001b[31m'), '[31m');
  t.equal(cleanReason('   '), DEFAULT_REFUSAL);
  t.equal(cleanReason('\ud800'), DEFAULT_REFUSAL, 'an unpaired surrogate');
  const long = cleanReason('é'.repeat(500));
  t.equal([...long].length, 200);
  t.ok(long.endsWith('…'));
  t.equal([...cleanReason('😀'.repeat(300))].length, 200, 'counted in characters, never splitting one');
  t.equal(cleanReason('a'.repeat(200)), 'a'.repeat(200), 'exactly 200 is kept whole');
  t.equal(cleanReason('e\u0301'), 'é', 'normalised');
});

t.test('claims Postgres could not keep (a NUL, a lone surrogate) are a bad answer, not a later database error', async (t) => {
  for (const body of ['{"allow":true,"claims":{"x":"a\\u0000b"}}', '{"allow":true,"claims":{"x":"a\\ud800b"}}', '{"allow":true,"claims":{"x":{"y":"\\udc00"}}}']) {
    t.match(parseHookAnswer(body), { problem: /NUL character or a lone surrogate/ }, body);
  }
  t.same(parseHookAnswer('{"allow":true,"claims":{"x":"😀 é"}}'), { allow: true, claims: { x: '😀 é' } }, 'a surrogate pair is a character like any other');
});
