import fc from 'fast-check';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { loadOpenApi, parseOpenApi } from '../../src/contract/openapi.js';
import { checkReturnTo, returnToMaxLength, withFragment } from '../../src/sign-in/return-to.js';
import { hostileReturnTos, printable } from '../helpers/hostile-return-to.js';

const allowed = ['https://app.example.com', 'http://localhost:5173'];
const spec = loadOpenApi();
const MAX_RETURN_TO_LENGTH = returnToMaxLength(spec);

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

t.test('the length limit is the one openapi.yaml documents', async (t) => {
  type Schemas = Record<string, { properties: Record<string, { maxLength?: number }> }>;
  const document = parse(spec.text) as { paths: Record<string, { get: { parameters: Array<{ name: string; schema: { maxLength?: number } }> } }>; components: { schemas: Schemas } };
  const documented = document.paths['/login']?.get.parameters.find((parameter) => parameter.name === 'return_to')?.schema.maxLength;
  t.equal(MAX_RETURN_TO_LENGTH, documented, 'the maxLength of GET /login return_to');
  t.equal(MAX_RETURN_TO_LENGTH, 2048);
  // Every return_to checkReturnTo sees arrived under one of these: they must agree, or a
  // value one schema accepts would be refused here under another code.
  t.equal(document.components.schemas.LogoutRequest?.properties.return_to?.maxLength, MAX_RETURN_TO_LENGTH, 'LogoutRequest.return_to');
  t.equal(document.components.schemas.TokenRequest?.properties.redirect_uri?.maxLength, MAX_RETURN_TO_LENGTH, 'TokenRequest.redirect_uri');

  const base = 'https://app.example.com/';
  const atLimit = base + 'a'.repeat(MAX_RETURN_TO_LENGTH - base.length);
  t.same(checkReturnTo(atLimit, allowed), { ok: true, url: atLimit }, 'exactly at the limit');
  t.same(checkReturnTo(`${atLimit}a`, allowed), { ok: false, reason: `return_to is longer than ${MAX_RETURN_TO_LENGTH} characters` }, 'one past it');
  // As JSON Schema counts: an astral character is one character, not two
  // UTF-16 units; but parsing percent-encodes it, and what is stored must fit.
  const astral = base + '\u{1f600}'.repeat(MAX_RETURN_TO_LENGTH - base.length);
  t.same(checkReturnTo(astral, allowed), { ok: false, reason: `return_to is longer than ${MAX_RETURN_TO_LENGTH} characters once normalized` }, `${MAX_RETURN_TO_LENGTH} code points in ${astral.length} UTF-16 units`);
  t.same(checkReturnTo(`${astral}a`, allowed), { ok: false, reason: `return_to is longer than ${MAX_RETURN_TO_LENGTH} characters` });
  // Parsing adds the path's slash: at the limit as written, one past it as stored.
  const pathless = 'https://app.example.com?';
  const lengthened = pathless + 'q'.repeat(MAX_RETURN_TO_LENGTH - pathless.length);
  t.match(checkReturnTo(lengthened, allowed), { ok: false, reason: /once normalized/ }, 'lengthened by parsing');
  t.same(checkReturnTo(lengthened.slice(0, -1), allowed), { ok: true, url: `https://app.example.com/?${'q'.repeat(MAX_RETURN_TO_LENGTH - pathless.length - 1)}` });

  const edited = parse(spec.text) as { paths: Record<string, { get: { parameters: Array<{ name: string; schema: { maxLength?: number } }> } }> };
  const returnTo = edited.paths['/login']?.get.parameters.find((parameter) => parameter.name === 'return_to');
  if (!returnTo) throw new Error('no return_to');
  returnTo.schema.maxLength = 100;
  t.equal(returnToMaxLength(parseOpenApi(stringify(edited))), 100, 'a change to the document is a change to the limit');
  delete returnTo.schema.maxLength;
  t.throws(() => returnToMaxLength(parseOpenApi(stringify(edited))), /no maxLength for the return_to of GET \/login/);
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
