// Standard Webhooks (standardwebhooks.com, spec 1.0.0), the symmetric
// scheme: the secret is `whsec_` and the base64 of 24 to 64 random bytes;
// each attempt is signed afresh over `{id}.{timestamp}.{body}` with
// HMAC-SHA256 and sent as `webhook-signature: v1,<base64>`, beside
// `webhook-id` (the same on every attempt: receivers deduplicate by it) and
// `webhook-timestamp` (seconds, the attempt's own: receivers refuse old ones).
import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';
/** "At least 24 bytes (192 bits, 512 maximum)": 512 bits. */
const MIN_BYTES = 24;
const MAX_BYTES = 64;
// Padding may be left out: the libraries receivers verify with decode either form.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

export type ParsedWebhookSecret = { readonly ok: true; readonly key: Buffer } | { readonly ok: false; readonly problem: string };

/**
 * WEBHOOK_SECRET or SIGN_IN_HOOK_SECRET as the configuration gives it. The
 * problem names what is wrong and how to make a good one, never the value.
 */
export function parseWebhookSecret(value: string): ParsedWebhookSecret {
  const howTo = `make one with: echo "${PREFIX}$(openssl rand -base64 32)"`;
  if (!value.startsWith(PREFIX)) return { ok: false, problem: `must start with ${PREFIX} (the Standard Webhooks form); ${howTo}` };
  const encoded = value.slice(PREFIX.length);
  if (encoded === '' || !BASE64.test(encoded)) return { ok: false, problem: `must be ${PREFIX} followed by base64 (A-Z a-z 0-9 + / and = padding); ${howTo}` };
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_BYTES || key.length > MAX_BYTES) {
    return { ok: false, problem: `must hold ${MIN_BYTES} to ${MAX_BYTES} bytes after ${PREFIX} (it holds ${key.length}); ${howTo}` };
  }
  return { ok: true, key };
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The headers of one attempt, signed at `nowMs`. */
export function webhookHeaders(key: Buffer, id: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(key, id, timestamp, body),
  };
}

/** The body Standard Webhooks recommends: the event's type, its time, and its data. */
export function webhookPayload(type: string, occurredAt: Date, data: Record<string, unknown>): string {
  return JSON.stringify({ type, timestamp: occurredAt.toISOString(), data });
}
