import t from 'tap';
import { codeResponseUrl, errorResponseUrl } from '../../../src/oidc/authorization-response.js';

const ISSUER = 'https://id.example.com';

t.test('the code, the state and the issuer, added to the redirect_uri as sent', async (t) => {
  t.equal(codeResponseUrl('https://app.example.com/cb', { code: 'c1', state: 'st', issuer: ISSUER }), 'https://app.example.com/cb?code=c1&state=st&iss=https%3A%2F%2Fid.example.com');
  t.equal(codeResponseUrl('https://app.example.com/cb', { code: 'c1', issuer: ISSUER }), 'https://app.example.com/cb?code=c1&iss=https%3A%2F%2Fid.example.com', 'no state, none sent');
  // RFC 6749 §4.1.2: the registered query is kept; a loopback port as sent.
  t.equal(codeResponseUrl('https://app.example.com/other?tenant=7', { code: 'c', state: 's', issuer: ISSUER }), 'https://app.example.com/other?tenant=7&code=c&state=s&iss=https%3A%2F%2Fid.example.com');
  t.equal(codeResponseUrl('http://localhost:5173/cb', { code: 'c', issuer: ISSUER }), 'http://localhost:5173/cb?code=c&iss=https%3A%2F%2Fid.example.com');
});

t.test('state is encoded, whatever printable characters it has', async (t) => {
  const url = new URL(codeResponseUrl('https://app.example.com/cb', { code: 'c', state: ' &=?#"<>\\%', issuer: ISSUER }));
  t.equal(url.searchParams.get('state'), ' &=?#"<>\\%');
  t.equal(url.hash, '');
  t.same([...url.searchParams.keys()], ['code', 'state', 'iss']);
});

t.test('an error, with its description, the state and the issuer (RFC 9207)', async (t) => {
  const url = errorResponseUrl('https://app.example.com/cb', { error: 'login_required', description: 'prompt=none: no session', state: 'st', issuer: ISSUER });
  t.equal(url, 'https://app.example.com/cb?error=login_required&error_description=prompt%3Dnone%3A+no+session&state=st&iss=https%3A%2F%2Fid.example.com');
  t.same(
    [...new URL(errorResponseUrl('https://app.example.com/cb', { error: 'access_denied', description: 'd', issuer: ISSUER })).searchParams.keys()],
    ['error', 'error_description', 'iss'],
  );
});
