import fc from 'fast-check';
import t from 'tap';
import { checkReturnTo, MAX_RETURN_TO_LENGTH, withFragment } from '../src/return-to.js';
import { hostileReturnTos, printable } from './helpers/hostile-return-to.js';

const allowed = ['https://app.example.com', 'http://localhost:5173'];

t.test('accepts URLs on an allowed origin', async (t) => {
  for (const [raw, expected] of [
    ['https://app.example.com', 'https://app.example.com/'],
    ['https://app.example.com/', 'https://app.example.com/'],
    ['https://app.example.com/cb?x=1&y=2', 'https://app.example.com/cb?x=1&y=2'],
    ['https://APP.example.com/Path', 'https://app.example.com/Path'],
    ['https://app.example.com:443/a', 'https://app.example.com/a'],
    ['http://localhost:5173/signed-in', 'http://localhost:5173/signed-in'],
  ] as const) {
    const result = checkReturnTo(raw, allowed);
    t.same(result, { ok: true, url: expected }, raw);
  }
});

t.test('refuses hostile values', async (t) => {
  const hostile = [
    ...hostileReturnTos('https://app.example.com'),
    ...hostileReturnTos('http://localhost:5173'),
    { category: 'overlong values', value: 'https://' + 'a'.repeat(MAX_RETURN_TO_LENGTH) },
    { category: 'overlong values', value: 'https://app.example.com/' + 'a'.repeat(MAX_RETURN_TO_LENGTH) },
  ];
  t.ok(hostile.length > 200, `${hostile.length} hostile values`);
  for (const { category, value } of hostile) {
    const result = checkReturnTo(value, allowed);
    t.equal(result.ok, false, `${category}: ${printable(value)}`);
  }
});

t.test('whatever it accepts is on an allowed origin and has no fragment', async (t) => {
  // Strings stitched from the pieces URL tricks are made of.
  const piece = fc.constantFrom(
    'https://', 'http://', '//', '/', '\\', '@', ':', '.', '#', '?', '%', '%2e', '%40', '%2f', '%00', '%25',
    'app.example.com', 'APP.example.com', 'localhost', '5173', '443', 'evil.com', 'xn--', '\u3002', '\uff0e', '\u0430', ' ', '\t', '\n', 'a',
  );
  const candidate = fc.oneof(fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')), fc.webUrl({ withFragments: true, withQueryParameters: true }), fc.string());
  fc.assert(
    fc.property(candidate, (raw) => {
      const result = checkReturnTo(raw, allowed);
      if (!result.ok) return true;
      const url = new URL(result.url);
      return allowed.includes(url.origin) && !result.url.includes('#') && url.username === '' && url.password === '';
    }),
    { numRuns: 3000 },
  );
  t.pass('no counterexample');
});

t.test('explains the refusal', async (t) => {
  t.match(checkReturnTo('https://evil.com/', allowed), { ok: false, reason: /origin https:\/\/evil\.com is not in RETURN_TO_ORIGINS/ });
  t.match(checkReturnTo('https://a@app.example.com/', allowed), { ok: false, reason: /credentials/ });
  t.match(checkReturnTo('https://app.example.com/#x', allowed), { ok: false, reason: /fragment/ });
});

t.test('an IDN origin matches its punycode form', async (t) => {
  t.same(checkReturnTo('https://bücher.example/', ['https://xn--bcher-kva.example']), { ok: true, url: 'https://xn--bcher-kva.example/' });
  t.same(checkReturnTo('https://BÜCHER.example/', ['https://xn--bcher-kva.example']), { ok: true, url: 'https://xn--bcher-kva.example/' });
  t.match(checkReturnTo('https://app\u3002example\u3002com/', allowed), { ok: false, reason: /stand in/ });
  t.equal(checkReturnTo('https://bucher.example/', ['https://xn--bcher-kva.example']).ok, false);
});

t.test('withFragment puts the answer in the fragment, encoded', async (t) => {
  t.equal(withFragment('https://app.example.com/cb?x=1', { access_token: 'a.b.c', token_type: 'Bearer' }), 'https://app.example.com/cb?x=1#access_token=a.b.c&token_type=Bearer');
  t.equal(withFragment('https://app.example.com/', { error: 'a&b=c' }), 'https://app.example.com/#error=a%26b%3Dc');
});
