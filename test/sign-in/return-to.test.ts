import fc from 'fast-check';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { loadOpenApi, parseOpenApi } from '../../src/contract/openapi.js';
import { parseRedirectUri } from '../../src/sign-in/redirect-uris.js';
import { registered } from '../helpers/redirect-uris.js';
import { checkReturnTo, returnToMaxLength, withFragment } from '../../src/sign-in/return-to.js';
import { hostileReturnTos, printable } from '../helpers/hostile-return-to.js';

const REGISTERED = ['https://app.example.com/signed-in', 'https://app.example.com/cb?tenant=7', 'https://bare.example.com', 'http://localhost/callback', 'http://127.0.0.1:8400/', 'http://[::1]/cb'];
const allowed = registered(REGISTERED);
const spec = loadOpenApi();
const MAX_RETURN_TO_LENGTH = returnToMaxLength(spec);

t.test('accepts exactly the registered URLs, as written or as parsed', async (t) => {
  for (const raw of [
    'https://app.example.com/signed-in',
    'https://app.example.com/cb?tenant=7',
    'https://bare.example.com',
    'https://bare.example.com/',
    // RFC 8252 §7.3: any port on a loopback entry, none too.
    'http://localhost/callback',
    'http://localhost:5173/callback',
    'http://localhost:1/callback',
    'http://127.0.0.1:8400/',
    'http://127.0.0.1:49152/',
    'http://127.0.0.1/',
    'http://[::1]:3000/cb',
  ]) {
    t.same(checkReturnTo(raw, allowed), { ok: true, url: raw }, raw);
  }
});

t.test('refuses everything else on the same origins: paths, queries, case, ports', async (t) => {
  for (const raw of [
    // Another path, or the same path spelled otherwise.
    'https://app.example.com/',
    'https://app.example.com/signed-in/',
    'https://app.example.com/signed-in/x',
    'https://app.example.com/Signed-in',
    'https://app.example.com/signed-in/../signed-in',
    'https://app.example.com/signed%2Din',
    'https://app.example.com/other?next=/signed-in',
    'https://bare.example.com/x',
    // Nothing added to the query, nothing taken away.
    'https://app.example.com/signed-in?',
    'https://app.example.com/signed-in?x=1',
    'https://app.example.com/cb',
    'https://app.example.com/cb?tenant=7&x=1',
    'https://app.example.com/cb?tenant=8',
    'https://app.example.com/cb?tenant=7#',
    // Another spelling of the host, scheme or port.
    'https://APP.example.com/signed-in',
    'HTTPS://app.example.com/signed-in',
    'https://app.example.com:443/signed-in',
    'http://app.example.com/signed-in',
    'https://app.example.com.evil.com/signed-in',
    'https://app.example.com@evil.com/signed-in',
    // The loopback exception is about the port only, and only over http.
    'https://localhost:5173/callback',
    'http://localhost:5173/callback/',
    'http://localhost:5173/other',
    'http://LOCALHOST:5173/callback',
    'http://localhost.evil.com/callback',
    'http://localhost:99999/callback',
    'http://localhost:5173@evil.com/callback',
    'http://127.0.0.2:8400/',
    'http://[::2]/cb',
    'http://0x7f000001:8400/',
    // A fragment never.
    'https://app.example.com/signed-in#x',
  ]) {
    t.equal(checkReturnTo(raw, allowed).ok, false, raw);
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

t.test('whatever it accepts is a registered URL, on a loopback entry with another port at most', async (t) => {
  // Strings stitched from the pieces URL tricks are made of, and from the registered URLs themselves.
  const piece = fc.constantFrom(
    'https://', 'http://', '//', '/', '\\', '@', ':', '.', '#', '?', '&', '%', '%2e', '%40', '%2f', '%00', '%25',
    'app.example.com', 'APP.example.com', 'localhost', '127.0.0.1', '[::1]', '5173', '443', 'evil.com', 'signed-in', 'cb', 'tenant=7', 'callback',
    '\u3002', '\uff0e', ' ', '\t', 'a',
  );
  const candidate = fc.oneof(
    fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')),
    fc.tuple(fc.constantFrom(...REGISTERED), fc.array(piece, { maxLength: 3 })).map(([base, parts]) => base + parts.join('')),
    fc.webUrl({ withFragments: true, withQueryParameters: true }),
    fc.string(),
  );
  const withoutPort = (raw: string) => raw.replace(/^(http:\/\/(?:localhost|127\.0\.0\.1|\[::1\])):\d+/, '$1');
  fc.assert(
    fc.property(candidate, (raw) => {
      const result = checkReturnTo(raw, allowed);
      if (!result.ok) return true;
      const registered = allowed.flatMap((uri) => [uri.written, uri.href]);
      return result.url === raw && (registered.includes(raw) || registered.map(withoutPort).includes(withoutPort(raw)));
    }),
    { numRuns: 5000 },
  );
  t.pass('no counterexample');
});

t.test('registered entries are checked when they are read', async (t) => {
  for (const [raw, reason] of [
    ['app.example.com/cb', /absolute http or https URL/],
    ['ftp://app.example.com/cb', /absolute http or https URL/],
    ['https://user:pw@app.example.com/cb', /credentials/],
    ['https://app.example.com/cb#done', /fragment/],
    ['https://app.example.com/a b', /whitespace/],
    ['https://app.example.com:99999/', /not a valid URL/],
    ['https://app.example.com/cb?', /must not end with \? or &/],
    ['https://app.example.com/cb?x=1&', /must not end with \? or &/],
  ] as const) {
    t.match(parseRedirectUri(raw), { ok: false, reason }, raw);
  }
  t.match(parseRedirectUri('http://localhost:5173/cb'), { ok: true, uri: { loopback: true, origin: 'http://localhost:5173' } });
  t.match(parseRedirectUri('https://localhost/cb'), { ok: true, uri: { loopback: false } }, 'an https localhost entry is matched exactly');
  t.match(parseRedirectUri('http://localhost.example.com/cb'), { ok: true, uri: { loopback: false } });
});

t.test('the length limit is the one openapi.yaml documents', async (t) => {
  type Schemas = Record<string, { properties: Record<string, { maxLength?: number }> }>;
  const document = parse(spec.text) as { paths: Record<string, { get: { parameters: Array<{ name: string; schema: { maxLength?: number } }> } }>; components: { schemas: Schemas } };
  const documented = document.paths['/login']?.get.parameters.find((parameter) => parameter.name === 'return_to')?.schema.maxLength;
  t.equal(MAX_RETURN_TO_LENGTH, documented, 'the maxLength of GET /login return_to');
  // Every return_to checkReturnTo sees arrived under one of these: they must agree, or a
  // value one schema accepts would be refused here under another code.
  t.equal(document.components.schemas.LogoutRequest?.properties.return_to?.maxLength, MAX_RETURN_TO_LENGTH, 'LogoutRequest.return_to');
  t.equal(document.components.schemas.TokenRequest?.properties.redirect_uri?.maxLength, MAX_RETURN_TO_LENGTH, 'TokenRequest.redirect_uri');

  const base = 'https://app.example.com/';
  const atLimit = base + 'a'.repeat(MAX_RETURN_TO_LENGTH - base.length);
  const long = [parseRedirectUri(atLimit), parseRedirectUri(`${atLimit}a`)].flatMap((parsed) => (parsed.ok ? [parsed.uri] : []));
  t.same(checkReturnTo(atLimit, long), { ok: true, url: atLimit }, 'exactly at the limit');
  t.same(checkReturnTo(`${atLimit}a`, long), { ok: false, reason: `return_to is longer than ${MAX_RETURN_TO_LENGTH} characters` }, 'one past it, even when registered');
  // As JSON Schema counts: an astral character is one character, not two UTF-16 units.
  const astral = base + '\u{1f600}'.repeat(MAX_RETURN_TO_LENGTH - base.length);
  t.equal(checkReturnTo(`${astral}a`, long).ok, false);
  t.match(checkReturnTo(astral, long), { ok: false, reason: /registered redirect URIs/ }, `${MAX_RETURN_TO_LENGTH} code points in ${astral.length} UTF-16 units are within the limit`);

  const edited = parse(spec.text) as { paths: Record<string, { get: { parameters: Array<{ name: string; schema: { maxLength?: number } }> } }> };
  const returnTo = edited.paths['/login']?.get.parameters.find((parameter) => parameter.name === 'return_to');
  if (!returnTo) throw new Error('no return_to');
  returnTo.schema.maxLength = 100;
  t.equal(returnToMaxLength(parseOpenApi(stringify(edited))), 100, 'a change to the document is a change to the limit');
  delete returnTo.schema.maxLength;
  t.throws(() => returnToMaxLength(parseOpenApi(stringify(edited))), /no maxLength for the return_to of GET \/login/);
});

t.test('explains the refusal', async (t) => {
  t.match(checkReturnTo('https://evil.com/', allowed), { ok: false, reason: /not one of the registered redirect URIs \(RETURN_TO_URLS\)/ });
  t.match(checkReturnTo('https://app.example.com/signed-in#x', allowed), { ok: false, reason: /fragment/ });
  t.match(checkReturnTo('https://app.example.com:99999/', allowed), { ok: false, reason: /not a valid URL/ });
  t.match(checkReturnTo('', allowed), { ok: false, reason: /empty/ });
});

t.test('an IDN entry matches as written or in its punycode form, and nothing that folds into it', async (t) => {
  const idn = registered(['https://bücher.example/cb']);
  t.same(checkReturnTo('https://bücher.example/cb', idn), { ok: true, url: 'https://bücher.example/cb' });
  t.same(checkReturnTo('https://xn--bcher-kva.example/cb', idn), { ok: true, url: 'https://xn--bcher-kva.example/cb' });
  t.equal(checkReturnTo('https://BÜCHER.example/cb', idn).ok, false);
  t.equal(checkReturnTo('https://bucher.example/cb', idn).ok, false);
  t.equal(checkReturnTo('https://bücher\u3002example/cb', idn).ok, false);
});

t.test('withFragment puts the answer in the fragment, encoded', async (t) => {
  t.equal(withFragment('https://app.example.com/cb?x=1', { access_token: 'a.b.c', token_type: 'Bearer' }), 'https://app.example.com/cb?x=1#access_token=a.b.c&token_type=Bearer');
  t.equal(withFragment('https://app.example.com/', { error: 'a&b=c' }), 'https://app.example.com/#error=a%26b%3Dc');
});
