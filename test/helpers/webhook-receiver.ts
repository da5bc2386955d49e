// A receiver of Standard Webhooks on its own port, as the audit webhooks'
// receiver or the sign-in hook: every request is checked with the npm
// standardwebhooks library on its raw body, as a receiver in the wild does,
// and answered as the test says at that moment (a status and a body, or
// never: held open), or the port is closed (down) until it is opened again.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Test } from 'tap';

export interface ReceivedRequest {
  /** webhook-id. */
  readonly id: string;
  /** webhook-timestamp, in seconds. */
  readonly timestamp: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
  readonly method: string;
  /** Path and query, as requested. */
  readonly target: string;
  /** The library accepted the signature and the timestamp. */
  readonly verified: boolean;
  /** The parsed body the library returned; undefined when it refused the request. */
  readonly payload: unknown;
  /** Date.now() when the body was in. */
  readonly at: number;
  /** For a request held unanswered: Date.now() when the sender gave up on it and closed the connection. */
  abandonedAt: number | undefined;
}

/** A status with an optional body (JSON unless `contentType` says otherwise), or no answer at all. */
export type Reply = { readonly status: number; readonly body?: string; readonly contentType?: string } | 'hang';

export interface WebhookReceiver {
  /** Where to send: its path carries an unguessable part (a credential of the receiver's), which roost must never log. */
  readonly url: string;
  /** That part. */
  readonly credential: string;
  /** Every request so far, in the order their bodies were in. */
  readonly received: ReceivedRequest[];
  /** How requests are answered from now on; a function decides per request. Default 204. */
  answer(reply: Reply | ((request: ReceivedRequest) => Reply)): void;
  /** Closes the port (connections refused) and drops every open connection, held requests included. */
  down(): Promise<void>;
  /** Opens the same port again. */
  up(): Promise<void>;
  /** Requests held unanswered now. */
  held(): number;
  /** Answers every held request with `reply` (204 by default). */
  release(reply?: { readonly status: number; readonly body?: string }): void;
  /** The webhook-ids of verified requests, with how many times each arrived. */
  countById(): Map<string, number>;
  /** Requests the library refused. */
  refused(): ReceivedRequest[];
  close(): Promise<void>;
}

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) });

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export async function startWebhookReceiver(t: Pick<Test, 'teardown'>, secret: string): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const credential = randomBytes(16).toString('hex');
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const holding = new Set<ServerResponse>();
  let decide: (request: ReceivedRequest) => Reply = () => ({ status: 204 });
  let port = 0;
  let server: Server | undefined;

  const send = (response: ServerResponse, reply: { readonly status: number; readonly body?: string; readonly contentType?: string }) => {
    if (response.writableEnded || response.destroyed) return;
    if (reply.body === undefined) response.writeHead(reply.status).end();
    else response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' }).end(reply.body);
  };

  const listen = async () => {
    const listening = createServer(async (request, response) => {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      let payload: unknown;
      let verified = true;
      try {
        payload = verifier.verify(body, request.headers as Record<string, string>);
      } catch {
        verified = false;
      }
      const entry: ReceivedRequest = {
        id: String(request.headers['webhook-id']),
        timestamp: Number(request.headers['webhook-timestamp']),
        body,
        headers: request.headers,
        method: request.method ?? '',
        target: request.url ?? '',
        verified,
        payload,
        at: Date.now(),
        abandonedAt: undefined,
      };
      received.push(entry);
      const reply = decide(entry);
      if (reply === 'hang') {
        holding.add(response);
        response.on('close', () => {
          // Still held: the other side closed it, not this receiver.
          if (holding.delete(response)) entry.abandonedAt = Date.now();
        });
        return;
      }
      send(response, reply);
    });
    listening.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => resolve());
    });
    port = (listening.address() as AddressInfo).port;
    server = listening;
  };

  const down = () =>
    new Promise<void>((resolve) => {
      const closing = server;
      server = undefined;
      holding.clear();
      for (const socket of sockets) socket.destroy();
      if (!closing?.listening) return resolve();
      closing.close(() => resolve());
    });

  await listen();
  t.teardown(down);
  return {
    url: `http://127.0.0.1:${port}/hooks/${credential}`,
    credential,
    received,
    answer(reply) {
      decide = typeof reply === 'function' ? reply : () => reply;
    },
    down,
    async up() {
      if (!server) await listen();
    },
    held: () => holding.size,
    release(reply = { status: 204 }) {
      const held = [...holding];
      holding.clear();
      for (const response of held) send(response, reply);
    },
    countById() {
      const counts = new Map<string, number>();
      for (const request of received) if (request.verified) counts.set(request.id, (counts.get(request.id) ?? 0) + 1);
      return counts;
    },
    refused: () => received.filter((request) => !request.verified),
    close: down,
  };
}

/** Resolves once `condition` holds, polling; rejects with `what` after `timeoutMs` (a bound for a busy machine, not a wait). */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
