// Outbound POSTs of a JSON body (webhooks and the sign-in hook) over
// keep-alive connections: one deadline per call (connect, headers and body
// together), an answer read up to a bound, redirects never followed (a 3xx
// is an answer like any other, as Standard Webhooks asks). Built on
// node:http like the Twitter client's outbound calls, for the same CPU cost
// reason; a hanging receiver holds one socket of its own, never another's.
import http from 'node:http';
import https from 'node:https';

export type PostFailure = 'timeout' | 'unreachable' | 'aborted';

export class PostError extends Error {
  readonly kind: PostFailure;
  constructor(kind: PostFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostError';
    this.kind = kind;
  }
}

export interface PostAnswer {
  readonly status: number;
  /** The answer's body; null when it was larger than maxAnswerBytes (and left unread). */
  readonly body: string | null;
  /** The Retry-After header, if any. */
  readonly retryAfter: string | null;
}

export interface PostOptions {
  readonly timeoutMs: number;
  /** Aborts the call (a closing worker): it rejects with kind 'aborted'. */
  readonly signal?: AbortSignal;
}

export interface JsonPoster {
  post(url: string, headers: Readonly<Record<string, string>>, body: string, options: PostOptions): Promise<PostAnswer>;
  close(): void;
}

export function createJsonPoster(options: { readonly maxAnswerBytes: number; readonly idleMs?: number }): JsonPoster {
  const agentOptions = { keepAlive: true, timeout: options.idleMs ?? 4000 };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };

  return {
    post(target, headers, body, { timeoutMs, signal }) {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        // URL's own error carries the input, which may hold a credential: none of it goes on.
        return Promise.reject(new PostError('unreachable', 'the URL cannot be parsed'));
      }
      const secure = url.protocol === 'https:';
      const payload = Buffer.from(body);
      return new Promise<PostAnswer>((resolve, reject) => {
        let done = false;
        const finish = () => {
          done = true;
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
        };
        const fail = (error: PostError) => {
          if (done) return;
          finish();
          outgoing.destroy();
          reject(error);
        };
        const onAbort = () => fail(new PostError('aborted', 'the call was abandoned'));
        const outgoing = (secure ? https : http).request(
          url,
          { method: 'POST', headers: { ...headers, 'content-length': String(payload.length) }, agent: secure ? agents.https : agents.http },
          (response) => {
            const answer = (text: string | null) => {
              if (done) return;
              finish();
              const retryAfter = response.headers['retry-after'];
              resolve({ status: response.statusCode ?? 0, body: text, retryAfter: typeof retryAfter === 'string' ? retryAfter : null });
            };
            if (Number(response.headers['content-length'] ?? 0) > options.maxAnswerBytes) {
              answer(null);
              response.destroy();
              return;
            }
            const chunks: Buffer[] = [];
            let size = 0;
            response.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > options.maxAnswerBytes) {
                answer(null);
                response.destroy();
                return;
              }
              chunks.push(chunk);
            });
            response.on('end', () => answer(Buffer.concat(chunks).toString('utf8')));
            response.on('error', (error) => fail(new PostError('unreachable', 'the connection failed while reading the answer', { cause: error })));
            // Closed before the end of the body: no error event is promised, so this is the catch-all.
            response.on('close', () => fail(new PostError('unreachable', 'the connection closed before the answer was complete')));
          },
        );
        const deadline = setTimeout(() => fail(new PostError('timeout', `no complete answer within ${timeoutMs} ms`)), timeoutMs);
        outgoing.on('error', (error) => fail(new PostError('unreachable', 'the request failed', { cause: error })));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        outgoing.end(payload);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
