// The sign-in hook: after Twitter vouched for the user and before a session
// opens, roost asks SIGN_IN_HOOK_URL whether this user may sign in and what
// to add to their tokens. The request is signed the Standard Webhooks way
// (the receiver verifies it with the same library as the audit webhooks),
// bounded by SIGN_IN_HOOK_TIMEOUT_MS, and the answer parsed strictly
// (hook-answer.ts). What a failure means (sign in anyway or refuse:
// SIGN_IN_HOOK_FAIL_OPEN) is the caller's decision: here it is only named.
import { newEventId } from '../audit/event-id.js';
import { parseHookAnswer } from './hook-answer.js';
import { createJsonPoster, PostError } from './post-json.js';
import { webhookHeaders } from './standard-webhooks.js';

export const DEFAULT_SIGN_IN_HOOK_TIMEOUT_MS = 2000;
/** Claims are at most 4 KB: a larger answer is refused unread. */
const MAX_ANSWER_BYTES = 16 * 1024;

export interface SignInHookUser {
  readonly id: string;
  readonly twitter_id: string;
  readonly screen_name: string;
  readonly name: string;
  readonly picture: string | null;
  readonly email: string | null;
}

export interface SignInHookRequest {
  readonly user: SignInHookUser;
  readonly isNewUser: boolean;
  /** The upstream protocol the user signed in with. */
  readonly protocol: 'oauth1' | 'oauth2';
}

export type SignInHookFailure = 'timeout' | 'unreachable' | 'bad_status' | 'bad_answer';

export type SignInHookResult =
  | { readonly outcome: 'allowed'; readonly claims: Readonly<Record<string, unknown>> }
  /** `reason` is printable, one line, at most 200 characters: fit to show the person. */
  | { readonly outcome: 'refused'; readonly reason: string }
  /** `problem` says what went wrong in words fit for the log; `status` is the hook's HTTP status when it answered. */
  | { readonly outcome: 'failed'; readonly kind: SignInHookFailure; readonly problem: string; readonly status?: number };

export interface SignInHookOptions {
  /** SIGN_IN_HOOK_URL. */
  readonly url: string;
  /** SIGN_IN_HOOK_SECRET, or WEBHOOK_SECRET without it, decoded (parseWebhookSecret). */
  readonly key: Buffer;
  /** SIGN_IN_HOOK_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  readonly now: () => number;
}

export interface SignInHook {
  /** Never rejects: every way the hook can fail is a `failed` result. */
  call(request: SignInHookRequest): Promise<SignInHookResult>;
  close(): void;
}

export function createSignInHook(options: SignInHookOptions): SignInHook {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SIGN_IN_HOOK_TIMEOUT_MS;
  const poster = createJsonPoster({ maxAnswerBytes: MAX_ANSWER_BYTES });

  return {
    async call(request) {
      const { user } = request;
      const body = JSON.stringify({
        user: { id: user.id, twitter_id: user.twitter_id, screen_name: user.screen_name, name: user.name, picture: user.picture, email: user.email },
        is_new_user: request.isNewUser,
        protocol: request.protocol,
      });
      const nowMs = options.now();
      // A fresh id per call: the receiver may refuse a replayed one.
      const headers = webhookHeaders(options.key, newEventId(nowMs), nowMs, body);
      let answer;
      try {
        answer = await poster.post(options.url, { ...headers, accept: 'application/json' }, body, { timeoutMs });
      } catch (error) {
        const kind = error instanceof PostError && error.kind === 'timeout' ? 'timeout' : 'unreachable';
        return { outcome: 'failed', kind, problem: kind === 'timeout' ? `no answer within ${timeoutMs} ms` : 'the hook could not be reached' };
      }
      if (answer.status !== 200) return { outcome: 'failed', kind: 'bad_status', problem: `the hook answered ${answer.status}, not 200`, status: answer.status };
      if (answer.body === null) return { outcome: 'failed', kind: 'bad_answer', problem: `the answer is larger than ${MAX_ANSWER_BYTES} bytes`, status: 200 };
      const parsed = parseHookAnswer(answer.body);
      if ('problem' in parsed) return { outcome: 'failed', kind: 'bad_answer', problem: parsed.problem, status: 200 };
      return parsed.allow ? { outcome: 'allowed', claims: parsed.claims } : { outcome: 'refused', reason: parsed.reason };
    },
    close() {
      poster.close();
    },
  };
}
