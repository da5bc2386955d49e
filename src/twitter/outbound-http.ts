// Outbound HTTP for the Twitter client: node:http(s) over keep-alive
// connections, one deadline per call (connect, headers and body together)
// and a bounded body. Built on node:http rather than fetch(): on Node 20 a
// fetch() costs about four times the CPU of the same request here, and a
// sign-in makes three of them.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export type OutboundFailure = 'timeout' | 'unreachable' | 'too_large';

export class OutboundError extends Error {
  readonly kind: OutboundFailure;
  constructor(kind: OutboundFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutboundError';
    this.kind = kind;
  }
}

export interface OutboundAnswer {
  readonly status: number;
  readonly body: string;
  /** The Date header, if any (the client compares clocks with it). */
  readonly date: string | null;
  /** All response headers, names in lower case (X's rate-limit headers among them). */
  readonly headers: IncomingHttpHeaders;
}

export interface OutboundHttpOptions {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Idle keep-alive connections are closed after this long (default 4 s, below common server keep-alive timeouts). */
  readonly idleMs?: number;
}

export interface OutboundHttp {
  /**
   * Never follows redirects: a 3xx is an answer like any other. A `body` is
   * sent as is, with its Content-Length; its Content-Type is the caller's.
   */
  request(method: string, url: string, headers: Readonly<Record<string, string>>, body?: string): Promise<OutboundAnswer>;
  close(): void;
}

export function createOutboundHttp(options: OutboundHttpOptions): OutboundHttp {
  const agentOptions = { keepAlive: true, timeout: options.idleMs ?? 4000 };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };

  return {
    request(method, target, headers, body) {
      const url = new URL(target);
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const sent = payload === undefined ? headers : { ...headers, 'content-length': String(payload.length) };
      const secure = url.protocol === 'https:';
      return new Promise<OutboundAnswer>((resolve, reject) => {
        let done = false;
        const fail = (error: OutboundError) => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          outgoing.destroy();
          reject(error);
        };
        const outgoing = (secure ? https : http).request(url, { method, headers: sent, agent: secure ? agents.https : agents.http }, (response) => {
          const tooLarge = () => new OutboundError('too_large', `the answer is larger than ${options.maxBodyBytes} bytes`);
          if (Number(response.headers['content-length'] ?? 0) > options.maxBodyBytes) return fail(tooLarge());
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxBodyBytes) return fail(tooLarge());
            chunks.push(chunk);
          });
          response.on('end', () => {
            if (done) return;
            done = true;
            clearTimeout(deadline);
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              date: response.headers.date ?? null,
              headers: response.headers,
            });
          });
          response.on('error', (error) => fail(new OutboundError('unreachable', 'the connection failed while reading the answer', { cause: error })));
          // Closed before the end of the body: no error event is promised, so this is the catch-all.
          // (Checked first: 'close' also follows every complete answer, and an Error is costly to build.)
          response.on('close', () => {
            if (!done) fail(new OutboundError('unreachable', 'the connection closed before the answer was complete'));
          });
        });
        const deadline = setTimeout(() => fail(new OutboundError('timeout', `no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
        outgoing.on('error', (error) => fail(new OutboundError('unreachable', 'the request failed', { cause: error })));
        outgoing.end(payload);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
