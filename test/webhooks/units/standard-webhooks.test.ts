// Standard Webhooks signing: the library's published known answer, what the
// npm library itself accepts and refuses, and WEBHOOK_SECRET parsing.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import t from 'tap';
import { parseWebhookSecret, signWebhook, webhookHeaders, webhookPayload } from '../../../src/webhooks/standard-webhooks.js';

const secretOf = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;

t.test('the known answer of the standardwebhooks libraries', async (t) => {
  // libraries/javascript/src/webhook.test.ts, "sign function works".
  const parsed = parseWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  t.ok(parsed.ok);
  const key = (parsed as { key: Buffer }).key;
  t.equal(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  t.not(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265331, '{"test": 2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'the timestamp is signed');
  t.not(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test":2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'every byte of the body is signed');
});

t.test('headers the npm library verifies, and refuses with another secret or a changed body', async (t) => {
  const secret = secretOf(randomBytes(32));
  const key = (parseWebhookSecret(secret) as { key: Buffer }).key;
  const body = webhookPayload('user.banned', new Date('2026-01-02T03:04:05.678Z'), { user_id: 'u', detail: { reason: 'spam' } });
  const headers = webhookHeaders(key, '0190f3a8-0000-7000-8000-000000000001', Date.now(), body);
  t.equal(headers['content-type'], 'application/json');
  t.match(headers['webhook-timestamp'], /^\d{10}$/);
  t.same(new Webhook(secret).verify(body, headers), { type: 'user.banned', timestamp: '2026-01-02T03:04:05.678Z', data: { user_id: 'u', detail: { reason: 'spam' } } });
  t.throws(() => new Webhook(secretOf(randomBytes(32))).verify(body, headers), { message: 'No matching signature found' }, 'another secret');
  t.throws(() => new Webhook(secret).verify(body.replace('spam', 'spa '), headers), { message: 'No matching signature found' }, 'a changed body');
  t.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'other' }), { message: 'No matching signature found' }, 'another id');
  const stale = webhookHeaders(key, 'id-1', Date.now() - 10 * 60_000, body);
  t.throws(() => new Webhook(secret).verify(body, stale), { message: 'Message timestamp too old' }, 'the timestamp is the attempt time, which receivers check');
});

t.test('parseWebhookSecret', async (t) => {
  const good: Array<[string, string, number]> = [
    ['24 bytes, the least', secretOf(randomBytes(24)), 24],
    ['32 bytes', secretOf(randomBytes(32)), 32],
    ['64 bytes, the most', secretOf(randomBytes(64)), 64],
    ['without padding', secretOf(randomBytes(25)).replace(/=+$/, ''), 25],
  ];
  for (const [name, value, length] of good) {
    const parsed = parseWebhookSecret(value);
    t.equal(parsed.ok && parsed.key.length, length, name);
  }
  const secret = randomBytes(32).toString('base64');
  const bad: Array<[string, string, RegExp]> = [
    ['no prefix', secret, /must start with whsec_/],
    ['another prefix', `whsk_${secret}`, /must start with whsec_/],
    ['a prefix in capitals', `WHSEC_${secret}`, /must start with whsec_/],
    ['nothing after it', 'whsec_', /followed by base64/],
    ['base64url', `whsec_${randomBytes(32).toString('base64url').replace(/^./, '-')}`, /followed by base64/],
    ['a space', `whsec_ ${secret}`, /followed by base64/],
    ['a broken length', `whsec_${secret.slice(0, 41)}`, /followed by base64/],
    ['too short', secretOf(randomBytes(23)), /24 to 64 bytes .*holds 23/],
    ['too long', secretOf(randomBytes(65)), /24 to 64 bytes .*holds 65/],
    ['hex, as other webhook senders use', `whsec_${randomBytes(12).toString('hex')}`, /holds 18/],
  ];
  for (const [name, value, problem] of bad) {
    const parsed = parseWebhookSecret(value);
    t.notOk(parsed.ok, name);
    if (!parsed.ok) {
      t.match(parsed.problem, problem, name);
      t.match(parsed.problem, /openssl rand -base64 32/, `${name}: says how to make one`);
      t.notOk(parsed.problem.includes(value.slice(6, 20)) && value.length > 10, `${name}: the value is not repeated`);
    }
  }
});

t.test('the payload: type, the event time and the data, in that order, minified', async (t) => {
  t.equal(webhookPayload('sign_in.completed', new Date(Date.UTC(2026, 0, 1)), { a: 1 }), '{"type":"sign_in.completed","timestamp":"2026-01-01T00:00:00.000Z","data":{"a":1}}');
});
