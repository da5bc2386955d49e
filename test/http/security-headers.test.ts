import t from 'tap';
import { securityHeaders } from '../../src/http/security-headers.js';

t.test('the security headers of a plain-http deployment', async (t) => {
  const headers = securityHeaders('http://127.0.0.1:3000');
  t.equal(headers['x-content-type-options'], 'nosniff');
  t.equal(headers['x-frame-options'], 'DENY');
  t.equal(headers['referrer-policy'], 'no-referrer');
  t.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  t.notMatch(headers['content-security-policy'], /upgrade-insecure-requests/, 'no upgrade to an https that is not there');
  t.equal(headers['strict-transport-security'], undefined, 'no HSTS over plain http');
  t.ok(Object.keys(headers).every((name) => name === name.toLowerCase()), 'names are lower case');
  t.ok(Object.isFrozen(headers), 'computed once, never changed');
});

t.test('an https deployment adds HSTS and upgrades sub-requests', async (t) => {
  const headers = securityHeaders('https://auth.example.com');
  t.equal(headers['strict-transport-security'], 'max-age=31536000');
  t.match(headers['content-security-policy'], /upgrade-insecure-requests/);
  t.equal(headers['x-frame-options'], 'DENY');
});
