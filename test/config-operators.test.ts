import t from 'tap';
import { loadConfig } from '../src/config.js';
import { problemsOf } from './helpers/config-problems.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const KEY = 'k'.repeat(40);

t.test('off by default: no admin keys, no webhook, no hook; audit events kept 90 days', async (t) => {
  const config = loadConfig({});
  t.same(config.admin.keys, []);
  t.equal(config.auditRetention, 90 * 86400);
  t.equal(config.webhook, undefined);
  t.equal(config.signInHook, undefined);
});

t.test('ADMIN_API_KEYS: each key at least 32 visible characters, never repeated in a message', async (t) => {
  t.same(loadConfig({ ADMIN_API_KEYS: `${KEY}, ${'m'.repeat(32)}` }).admin.keys, [KEY, 'm'.repeat(32)]);
  const problems = problemsOf({ ADMIN_API_KEYS: `${KEY},short-key-here` }).join('\n');
  t.match(problems, /ADMIN_API_KEYS: key 2 must be at least 32 visible ASCII characters/);
  t.notMatch(problems, /short-key-here/, 'the key itself is not printed');
});

t.test('WEBHOOK_URL needs a whsec_ WEBHOOK_SECRET', async (t) => {
  const config = loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: SECRET });
  t.equal(config.webhook?.url, 'http://127.0.0.1:9/hooks');
  t.same(config.webhook?.key, Buffer.alloc(32, 7));
  t.equal(config.webhook?.maxAge, 86400);
  t.match(problemsOf({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks' }).join('\n'), /WEBHOOK_SECRET is required with WEBHOOK_URL/);
  const bad = problemsOf({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: 'plain-secret-value' }).join('\n');
  t.match(bad, /WEBHOOK_SECRET must start with whsec_/);
  t.notMatch(bad, /plain-secret-value/);
  t.match(problemsOf({ WEBHOOK_URL: 'not a url', WEBHOOK_SECRET: SECRET }).join('\n'), /WEBHOOK_URL/);
  t.match(problemsOf({ WEBHOOK_URL: 'http://x.example/', WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_AGE: '5' }).join('\n'), /WEBHOOK_MAX_AGE/);
});

t.test('SIGN_IN_HOOK_URL: its own secret or the webhook one; a timeout; fail closed by default', async (t) => {
  const own = loadConfig({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook', SIGN_IN_HOOK_SECRET: SECRET });
  t.match(own.signInHook, { url: 'http://127.0.0.1:9/hook', timeoutMs: 2000, failOpen: false });
  const shared = loadConfig({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook', WEBHOOK_URL: 'http://127.0.0.1:9/w', WEBHOOK_SECRET: SECRET, SIGN_IN_HOOK_FAIL_OPEN: 'true', SIGN_IN_HOOK_TIMEOUT_MS: '500' });
  t.match(shared.signInHook, { timeoutMs: 500, failOpen: true });
  t.same(shared.signInHook?.key, Buffer.alloc(32, 7), 'WEBHOOK_SECRET signs the hook too');
  t.match(problemsOf({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook' }).join('\n'), /SIGN_IN_HOOK_SECRET \(or WEBHOOK_SECRET\) is required/);
  t.match(problemsOf({ SIGN_IN_HOOK_URL: 'http://127.0.0.1:9/hook', SIGN_IN_HOOK_SECRET: SECRET, SIGN_IN_HOOK_FAIL_OPEN: 'maybe' }).join('\n'), /SIGN_IN_HOOK_FAIL_OPEN/);
});

t.test('in production the webhook and the hook are https', async (t) => {
  const production = { NODE_ENV: 'production', TWITTER_CLIENT_ID: 'i', TWITTER_CLIENT_SECRET: 's', COOKIE_SECRET: 'c'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32), RETURN_TO_URLS: 'https://app.example.com/cb', PUBLIC_URL: 'https://auth.example.com' };
  t.match(problemsOf({ ...production, WEBHOOK_URL: 'http://hooks.example.com/', WEBHOOK_SECRET: SECRET }).join('\n'), /WEBHOOK_URL must be https:\/\/ with NODE_ENV=production/);
  t.same(problemsOf({ ...production, WEBHOOK_URL: 'https://hooks.example.com/', WEBHOOK_SECRET: SECRET }), []);
});
