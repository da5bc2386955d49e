// Property-based tests against a live roost: random, repeated, oversized
// and malformed query strings, cookies and headers at /login,
// /login/callback and /me. Whatever arrives: never a 5xx, never a token,
// never a redirect off the allowlist (a callback that reaches a stored flow
// without its browser goes back to that flow's app with access_denied and
// nothing else), and every error is problem+json, or the sign-in routes'
// HTML page for a browser that asks for text/html.
import { connect } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { addedTo } from '../helpers/back-at-app.js';
import { hostileReturnTos } from '../helpers/hostile-return-to.js';
import { APP_ORIGIN, startRoost } from '../helpers/roost.js';

const roost = await startRoost(t);
const RUNS = 80;
const PROBLEM = 'application/problem+json; charset=utf-8';
const PAGE = 'text/html; charset=utf-8';
const JWT_SHAPE = /eyJ[\w-]{2,}\.eyJ[\w-]{2,}\.[\w-]+/;

// A few real request tokens, so some callbacks reach a stored flow.
const pending: string[] = [];
for (let i = 0; i < 5; i++) {
  const login = await fetch(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`, { redirect: 'manual' });
  pending.push(new URL(login.headers.get('location') as string).searchParams.get('oauth_token') as string);
}

const text = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 8 },
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '%', '%zz', '%E0%A4', '%00', '%0d%0a', '\u0000', '..', '[]', '{}', 'null', 'undefined', 'true', '-1', '1e309'),
  fc.constantFrom(`${APP_ORIGIN}/`, `${APP_ORIGIN}/x?y=1`, ...hostileReturnTos(APP_ORIGIN).map((entry) => entry.value)),
  fc.constantFrom(...pending),
  // Rarely, and sometimes over the 16 KiB Node allows for the request line and headers.
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 2000, maxLength: 9000 }), weight: 1 },
);
const name = fc.oneof(
  fc.constantFrom('return_to', 'oauth_token', 'oauth_verifier', 'denied', 'return_to[]', 'return_to[0]', 'oauth_token[a]', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', ''),
  fc.string({ maxLength: 12 }),
);
const pairs = fc.array(fc.tuple(name, text), { maxLength: 8 });

/** A query string: well encoded, or glued together raw with broken escapes and stray separators. */
const query = fc.oneof(
  pairs.map((list) => new URLSearchParams(list).toString()),
  // A valid return_to among other parameters, to reach Twitter now and then.
  fc.tuple(fc.constantFrom(`${APP_ORIGIN}/`, `${APP_ORIGIN}/a?b=c`), pairs).map(([returnTo, list]) =>
    new URLSearchParams([['return_to', returnTo], ...list.filter(([key]) => key !== 'return_to')]).toString(),
  ),
  fc.tuple(pairs, fc.constantFrom('&', '&&', ';', '&=&', '=')).map(([list, separator]) => list.map(([key, value]) => `${bytes(key)}=${bytes(value)}`).join(separator)),
);

/** Printable ASCII as it is (stray %, & and = included), every other byte of the UTF-8 (lone surrogates too) percent-encoded. */
function bytes(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((byte) => (byte > 0x20 && byte < 0x7f && byte !== 0x23 ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('');
}

/** Header values fetch will send: printable ASCII. */
const headerValue = fc.oneof(
  { arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }), weight: 8 },
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
  fc.constantFrom('Bearer', 'Bearer ', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Basic YTpi', 'bearer   x', 'Bearer =====', 'OAuth oauth_token="x"'),
  fc.tuple(fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 90 })).map(([h, p, s]) => `Bearer ${h}.${p}.${s}`),
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 7000, maxLength: 12_000 }).map((value) => `Bearer ${value.replace(/[^\x21-\x7e]/g, 'a')}`), weight: 1 },
);
const cookie = fc
  .array(fc.tuple(fc.constantFrom('roost_flow', '__Host-roost_flow', 'session', ''), headerValue.map((value) => value.replace(/[;,]/g, ''))), { maxLength: 4 })
  .map((list) => list.map(([key, value]) => `${key}=${value}`).join('; '));
const headers = fc.record(
  {
    authorization: headerValue,
    cookie,
    'x-request-id': headerValue,
    'x-forwarded-for': headerValue,
    accept: fc.oneof(
      { arbitrary: headerValue, weight: 3 },
      // What browsers navigating send, and what API clients do.
      fc.constantFrom('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/html', 'application/json', '*/*', 'application/problem+json'),
    ),
    'content-type': headerValue,
  },
  { requiredKeys: [] },
);

interface Seen {
  readonly status: number;
  readonly location: string | null;
  readonly contentType: string | null;
  readonly body: string;
}

async function send(path: string, requestHeaders: Record<string, string>): Promise<Seen> {
  const response = await fetch(`${roost.url}${path}`, { headers: requestHeaders, redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), contentType: response.headers.get('content-type'), body: await response.text() };
}

/** A browser navigating asks for text/html; the sign-in routes answer it with a page (src/http/problem-page.ts). */
const asksForPage = (accept: string | undefined) => accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);

/** The properties every answer must have; throws with the reason when one fails. */
function judge(seen: Seen, allowedRedirect: (location: string) => boolean, page = false): true {
  if (seen.status >= 500) throw new Error(`${seen.status}: ${seen.body.slice(0, 300)}`);
  if (seen.body.includes('access_token') || JWT_SHAPE.test(seen.body)) throw new Error(`a token in the body: ${seen.body.slice(0, 300)}`);
  if (seen.location !== null && (seen.location.includes('access_token') || JWT_SHAPE.test(seen.location))) throw new Error(`a token in Location: ${seen.location}`);
  if (seen.status >= 300 && seen.status < 400 && !allowedRedirect(seen.location ?? '')) throw new Error(`redirect to ${seen.location}`);
  // 431 comes from Node's parser, before any route: problem+json whatever was asked.
  if (seen.status >= 400 && page && seen.status !== 431) {
    if (seen.contentType !== PAGE) throw new Error(`${seen.status} as ${seen.contentType} to a browser that asked for text/html`);
    const shown = /Error code: <code>([a-z_]+)<\/code> \((\d{3})\)/.exec(seen.body);
    if (!shown || Number(shown[2]) !== seen.status) throw new Error(`not a problem page: ${seen.body.slice(0, 300)}`);
  } else if (seen.status >= 400) {
    if (seen.contentType !== PROBLEM) throw new Error(`${seen.status} as ${seen.contentType}`);
    const problem = JSON.parse(seen.body) as { status?: unknown; code?: unknown; type?: unknown };
    if (problem.status !== seen.status || typeof problem.code !== 'string' || problem.type !== `urn:roost:problem:${problem.code}`) throw new Error(`not a problem: ${seen.body}`);
  }
  return true;
}

const toTwitter = (location: string) => location.startsWith(`${roost.providerUrl}/oauth/authenticate?oauth_token=`);
const nowhere = () => false;
/**
 * No random callback carries a flow's browser binding: one that names a
 * stored flow goes back to that flow's app (all were started with
 * return_to=APP_ORIGIN/) refused, with exactly an error and its description.
 */
const refusedAtApp = (location: string) => {
  const added = addedTo(location, `${APP_ORIGIN}/`);
  return (
    added !== null &&
    Object.keys(added).join() === 'error,error_description' &&
    added.error === 'access_denied' &&
    added.error_description === 'This sign-in was started in another browser or tab; start again here'
  );
};
const tally = new Map<string, number>();
const count = (route: string, status: number) => tally.set(`${route} ${status}`, (tally.get(`${route} ${status}`) ?? 0) + 1);

t.test('/login', async (t) => {
  await fc.assert(
    fc.asyncProperty(query, headers, async (q, h) => {
      const seen = await send(`/login?${q}`, h);
      count('/login', seen.status);
      if (seen.contentType === PAGE) count('/login page', seen.status);
      return judge(seen, toTwitter, asksForPage(h.accept));
    }),
    { numRuns: RUNS },
  );
  t.pass('no counterexample');
});

t.test('/login/callback', async (t) => {
  await fc.assert(
    fc.asyncProperty(query, headers, async (q, h) => {
      const seen = await send(`/login/callback?${q}`, h);
      count('/login/callback', seen.status);
      // No random callback can carry the flow's browser binding, so it never signs in.
      if (seen.contentType === PAGE) count('/login/callback page', seen.status);
      return judge(seen, refusedAtApp, asksForPage(h.accept));
    }),
    { numRuns: RUNS },
  );
  t.pass('no counterexample');
});

t.test('/me', async (t) => {
  await fc.assert(
    fc.asyncProperty(query, headers, async (q, h) => {
      const seen = await send(`/me?${q}`, h);
      count('/me', seen.status);
      if (seen.status !== 401 && seen.status !== 431) throw new Error(`/me answered ${seen.status}`);
      return judge(seen, nowhere);
    }),
    { numRuns: RUNS },
  );
  t.pass('no counterexample');
});

/** Raw bytes, for what fetch refuses to send; every request is complete, so the server must answer. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(roost.config.port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(5000, () => reject(new Error(`no answer to ${JSON.stringify(request.slice(0, 200))}`)));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    // write, not end: a half-closed socket may be dropped before an async route answers.
    socket.write(Buffer.from(request, 'latin1'));
  });
}

t.test('malformed requests, byte for byte', async (t) => {
  // No colon in the header garbage: a made-up Content-Length would rightly make the server wait for a body.
  const garbage = fc.option(fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((value) => `${value.replace(/[\r\n:]/g, '')}\r\n`), { nil: '' });
  const pathGarbage = fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 60 }), fc.string({ unit: 'binary-ascii', maxLength: 60 })).map((value) => value.replace(/[\r\n ]/g, ''));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('/login', '/login/callback', '/me'), pathGarbage, garbage, fc.boolean(), async (path, extra, line, huge) => {
      const answer = await raw(`GET ${path}?${extra} HTTP/1.1\r\nHost: x\r\n${line}Cookie: roost_flow=${huge ? 'c'.repeat(17_000) : extra}\r\nConnection: close\r\n\r\n`);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      count('raw', status);
      if (!(status >= 200 && status < 500)) throw new Error(`status ${status}: ${answer.slice(0, 200)}`);
      // Host: x is not PUBLIC_URL's host: /login moves the browser there first, and nowhere else.
      if (status >= 300 && status < 400) {
        const location = /\r\nlocation: ([^\r]*)/i.exec(head)?.[1] ?? '';
        if (path !== '/login' || !location.startsWith(`${roost.url}/login?`)) throw new Error(`${path} redirected to ${location}`);
      }
      if (status >= 400 && !/content-type: application\/problem\+json/i.test(head)) throw new Error(`${status} without problem+json: ${head}`);
      if (status >= 400) JSON.parse(body);
      return !JWT_SHAPE.test(answer);
    }),
    // Always tried: a backslash in the query of a /login that is moved to PUBLIC_URL's host.
    { numRuns: 60, examples: [['/login', '\\', '', false]] },
  );
  t.pass('no counterexample');
});

t.test('roost still works afterwards', async (t) => {
  t.comment(JSON.stringify(Object.fromEntries([...tally].sort())));
  t.equal((await fetch(`${roost.url}/healthz`)).status, 200);
  const login = await fetch(`${roost.url}/login?return_to=${encodeURIComponent(`${APP_ORIGIN}/`)}`, { redirect: 'manual' });
  t.equal(login.status, 302);
  t.ok([...tally.keys()].some((key) => key.startsWith('/login 302')), 'some random /login requests were valid');
  t.ok([...tally.keys()].filter((key) => key.startsWith('/login/callback')).length >= 2, 'the callback answered in more than one way');
  t.ok([...tally.keys()].some((key) => / page /.test(key)), 'a browser asking for text/html was answered with a page');
});
