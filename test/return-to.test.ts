import t from 'tap';
import { checkReturnTo, MAX_RETURN_TO_LENGTH, withFragment } from '../src/return-to.js';

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
    '',
    '/relative/path',
    'relative',
    '//evil.com',
    '///evil.com',
    '\\\\evil.com',
    'https:evil.com',
    'https:/evil.com',
    'https://evil.com',
    'https://app.example.com.evil.com/',
    'https://evil.com/https://app.example.com',
    'https://evil.com?https://app.example.com',
    'https://app.example.com@evil.com/',
    'https://user:pass@app.example.com/',
    'https://user@app.example.com/',
    'https://@app.example.com/',
    'https://app.example.com:8443/',
    'http://app.example.com/',
    'http://localhost:5174/',
    'https://app.example.com\\@evil.com/',
    'https://app.example.com\\.evil.com/',
    'https://app.example.com/#fragment',
    'https://app.example.com#',
    ' https://app.example.com/',
    'https://app.example.com/ ',
    'https://app.example.com/\t',
    '\thttps://app.example.com/',
    'https://app.example.com/\n',
    'https://app.example.com/\r\nSet-Cookie:x=1',
    'https://app.example.com/\u0000',
    'https://app.example.com/\u00a0',
    'https://app.example.com/\u2028',
    'https://app.example.com/\ufeff',
    'https://аpp.example.com/', // Cyrillic a
    'https://app.exаmple.com/',
    'https://app%2eexample.com/',
    'https://app.example.com%2f@evil.com/',
    'https%3A%2F%2Fapp.example.com%2F',
    'javascript://app.example.com/%0aalert(1)',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'ftp://app.example.com/',
    'ws://app.example.com/',
    'file:///etc/passwd',
    'https://' + 'a'.repeat(MAX_RETURN_TO_LENGTH),
    'https://app.example.com/' + 'a'.repeat(MAX_RETURN_TO_LENGTH),
  ];
  for (const raw of hostile) {
    const result = checkReturnTo(raw, allowed);
    t.equal(result.ok, false, printable(raw));
  }
});

t.test('explains the refusal', async (t) => {
  t.match(checkReturnTo('https://evil.com/', allowed), { ok: false, reason: /origin https:\/\/evil\.com is not in RETURN_TO_ORIGINS/ });
  t.match(checkReturnTo('https://a@app.example.com/', allowed), { ok: false, reason: /credentials/ });
  t.match(checkReturnTo('https://app.example.com/#x', allowed), { ok: false, reason: /fragment/ });
});

t.test('an IDN origin matches its punycode form', async (t) => {
  t.same(checkReturnTo('https://bücher.example/', ['https://xn--bcher-kva.example']), { ok: true, url: 'https://xn--bcher-kva.example/' });
  t.equal(checkReturnTo('https://bucher.example/', ['https://xn--bcher-kva.example']).ok, false);
});

t.test('withFragment puts the answer in the fragment, encoded', async (t) => {
  t.equal(withFragment('https://app.example.com/cb?x=1', { access_token: 'a.b.c', token_type: 'Bearer' }), 'https://app.example.com/cb?x=1#access_token=a.b.c&token_type=Bearer');
  t.equal(withFragment('https://app.example.com/', { error: 'a&b=c' }), 'https://app.example.com/#error=a%26b%3Dc');
});

/** Test names stay on one TAP line whatever the value holds. */
function printable(raw: string): string {
  const shown = raw.length > 60 ? `${raw.slice(0, 60)}… (${raw.length} chars)` : raw;
  return shown.replace(/[^\x21-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
