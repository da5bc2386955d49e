// Authorization codes of the PKCE mode (RFC 6749 §4.1.2, RFC 7636):
// random, single-use (the flow store's atomic take), at most 60 seconds
// old, and bound to the PKCE challenge and the redirect URI. Stored under a
// hash of the code, so codes never appear in Redis key listings.
import { createHash, randomBytes } from 'node:crypto';
import type { FlowStore } from './flow-store.js';

/** RFC 6749 §4.1.2 recommends at most 10 minutes; a browser app redeems its code within a second. */
export const CODE_TTL_SECONDS = 60;
/** How long a redeemed code is remembered, so that a replay can end the session it opened (§4.1.2). */
const REDEEMED_TTL_SECONDS = 600;
const CODE = /^[A-Za-z0-9_-]{43}$/;

export interface CodeGrant {
  readonly userId: string;
  readonly challenge: string;
  readonly redirectUri: string;
  /** Checked against the injected clock as well as the store's own expiry. */
  readonly expiresAt: number;
}

export async function issueCode(store: FlowStore, grant: Omit<CodeGrant, 'expiresAt'>, nowMs: number): Promise<string> {
  const code = randomBytes(32).toString('base64url');
  const record: CodeGrant = { ...grant, expiresAt: nowMs + CODE_TTL_SECONDS * 1000 };
  await store.put(codeKey(code), JSON.stringify(record), CODE_TTL_SECONDS);
  return code;
}

export type Redemption =
  | { readonly kind: 'grant'; readonly grant: CodeGrant }
  | { readonly kind: 'expired' }
  | { readonly kind: 'replayed'; readonly sessionId: string }
  | { readonly kind: 'unknown' };

/** Takes the code once; whatever the outcome, it cannot be redeemed again. */
export async function redeemCode(store: FlowStore, code: string, nowMs: number): Promise<Redemption> {
  if (!CODE.test(code)) return { kind: 'unknown' };
  const stored = await store.take(codeKey(code));
  if (stored === null) {
    const sessionId = await store.take(redeemedKey(code));
    return sessionId === null ? { kind: 'unknown' } : { kind: 'replayed', sessionId };
  }
  const grant = JSON.parse(stored) as CodeGrant;
  return grant.expiresAt <= nowMs ? { kind: 'expired' } : { kind: 'grant', grant };
}

export async function rememberRedeemedCode(store: FlowStore, code: string, sessionId: string): Promise<void> {
  await store.put(redeemedKey(code), sessionId, REDEEMED_TTL_SECONDS);
}

function codeKey(code: string): string {
  return `code:${digest(code)}`;
}

function redeemedKey(code: string): string {
  return `code-redeemed:${digest(code)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
