// A lean HTTP/1.1 client for the open loops: keep-alive connections to one
// origin, one request at a time on each, the rest waiting in one queue. At
// tens of thousands of requests a second node:http's client would take a
// core of its own from the two the server under test shares; this one
// writes the request's bytes and reads the status line, the few headers it
// needs and a body of known length (or chunked), and checks deadlines with
// one timer for all. A request still queued at its deadline is never sent;
// one in flight at its deadline loses its connection, as a client that gives
// up closes it.
import { connect, type Socket } from 'node:net';

export interface PoolRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface PoolAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

export interface HttpPool {
  /** Rejects with an error whose code is "timeout" at `deadline` (performance.now()), or a socket's error code. */
  request(request: PoolRequest, deadline: number): Promise<PoolAnswer>;
  close(): void;
}

interface Pending {
  readonly bytes: Buffer;
  readonly deadline: number;
  readonly resolve: (answer: PoolAnswer) => void;
  readonly reject: (error: Error) => void;
}

interface Connection {
  readonly socket: Socket;
  current: Pending | undefined;
  buffered: Buffer;
}

const SWEEP_MS = 10;
const failure = (code: string) => Object.assign(new Error(code), { code });

export function createHttpPool(origin: URL, connections: number): HttpPool {
  const host = origin.hostname;
  const port = Number(origin.port || 80);
  const queue: Pending[] = [];
  let head = 0;
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  let closed = false;

  const settle = (connection: Connection, outcome: PoolAnswer | Error) => {
    const pending = connection.current;
    connection.current = undefined;
    connection.buffered = Buffer.alloc(0);
    if (pending === undefined) return;
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  };

  const drop = (connection: Connection, error: Error) => {
    if (!all.delete(connection)) return;
    const at = idle.indexOf(connection);
    if (at !== -1) idle.splice(at, 1);
    connection.socket.destroy();
    settle(connection, error);
  };

  const open = (): Connection => {
    const socket = connect({ host, port, noDelay: true });
    const connection: Connection = { socket, current: undefined, buffered: Buffer.alloc(0) };
    all.add(connection);
    socket.on('data', (chunk: Buffer) => {
      connection.buffered = connection.buffered.length === 0 ? chunk : Buffer.concat([connection.buffered, chunk]);
      const parsed = parseResponse(connection.buffered);
      if (parsed === undefined) return;
      if (parsed === 'malformed') return drop(connection, failure('malformed response'));
      settle(connection, parsed.answer);
      if (parsed.close) drop(connection, failure('closed'));
      else idle.push(connection);
      pump();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => drop(connection, failure(error.code ?? error.message)));
    socket.on('close', () => {
      drop(connection, failure('ECONNRESET'));
      pump();
    });
    return connection;
  };

  const pump = () => {
    if (closed) return;
    const now = performance.now();
    while (head < queue.length) {
      const pending = queue[head] as Pending;
      if (pending.deadline <= now) {
        head += 1;
        pending.reject(failure('timeout'));
        continue;
      }
      const connection = idle.pop() ?? (all.size < connections ? open() : undefined);
      if (connection === undefined) break;
      head += 1;
      connection.current = pending;
      connection.socket.write(pending.bytes);
    }
    // Forget what was taken, now and then rather than on every request.
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const connection of all) if (connection.current !== undefined && connection.current.deadline <= now) drop(connection, failure('timeout'));
    pump();
  }, SWEEP_MS);

  return {
    request(request, deadline) {
      if (closed) return Promise.reject(failure('closed'));
      if (deadline <= performance.now()) return Promise.reject(failure('timeout'));
      return new Promise((resolve, reject) => {
        queue.push({ bytes: requestBytes(host, port, request), deadline, resolve, reject });
        pump();
      });
    },
    close() {
      closed = true;
      clearInterval(sweep);
      for (const connection of [...all]) drop(connection, failure('closed'));
      for (const pending of queue.slice(head)) pending.reject(failure('closed'));
      queue.length = 0;
      head = 0;
    },
  };
}

function requestBytes(host: string, port: number, request: PoolRequest): Buffer {
  const body = request.body ?? '';
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `host: ${host}:${port}`];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (request.method === 'POST') lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * One whole response at the start of `data` (RFC 9112: status line, header
 * fields, a body by Content-Length or chunked, none for 1xx, 204 and 304);
 * undefined while incomplete. Pure.
 */
export function parseResponse(data: Buffer): { answer: PoolAnswer; close: boolean; length: number } | 'malformed' | undefined {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd === -1) return data.length > 64 * 1024 ? 'malformed' : undefined;
  const lines = data.toString('latin1', 0, headerEnd).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!status) return 'malformed';
  const code = Number(status[1]);
  let contentLength: number | undefined;
  let chunked = false;
  let close = false;
  let retryAfter: string | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'malformed';
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d+$/.test(value)) return 'malformed';
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
    else if (name === 'connection') close = /(?:^|,)\s*close\s*(?:,|$)/i.test(value);
    else if (name === 'retry-after') retryAfter = value;
  }
  const bodyStart = headerEnd + 4;
  if (code < 200 || code === 204 || code === 304) return { answer: { status: code, retryAfter, body: '' }, close, length: bodyStart };
  if (chunked) {
    const body: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(data.toString('latin1', at, lineEnd).split(';')[0] as string, 16);
      if (!Number.isFinite(size) || size < 0) return 'malformed';
      if (size === 0) {
        // No trailer fields expected: the last chunk ends with an empty line.
        if (data.length < lineEnd + 4) return undefined;
        return { answer: { status: code, retryAfter, body: Buffer.concat(body).toString('utf8') }, close, length: lineEnd + 4 };
      }
      if (data.length < lineEnd + 2 + size + 2) return undefined;
      body.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  // Without a length the body runs to the connection's close, which this client does not wait for.
  if (contentLength === undefined) return 'malformed';
  if (data.length < bodyStart + contentLength) return undefined;
  return { answer: { status: code, retryAfter, body: data.toString('utf8', bodyStart, bodyStart + contentLength) }, close, length: bodyStart + contentLength };
}
