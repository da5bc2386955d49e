// Counts what a server sends to Postgres and Redis: a TCP proxy in front of
// each, reading the client's side of the protocol as it passes. For
// Postgres, a round trip is a Sync (the end of an extended-protocol query)
// or a simple Query message; for Redis, each command (a RESP array) counts.
// Used on a separate instance with a few operations at a time, never in the
// timed phases: the proxy's own hop would be measured with them.
import { createConnection, createServer, type Socket } from 'node:net';

export interface CountingProxy {
  readonly port: number;
  /** Round trips (Postgres) or commands (Redis) seen so far. */
  count(): number;
  close(): Promise<void>;
}

export type WireProtocol = 'postgres' | 'redis';

export async function startCountingProxy(target: { host: string; port: number }, protocol: WireProtocol): Promise<CountingProxy> {
  let seen = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const reader = protocol === 'postgres' ? postgresMessages() : redisCommands();
    client.on('data', (chunk: Buffer) => {
      seen += reader(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    count: () => seen,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A reader of a Postgres client's stream: how many round trips each chunk completes. */
export function postgresMessages(): (chunk: Buffer) => number {
  let buffer = Buffer.alloc(0);
  let started = false;
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    let trips = 0;
    for (;;) {
      if (!started) {
        // Untyped: an SSL or GSS request, then the startup message (protocol 3.0: 196608).
        if (buffer.length < 8 || buffer.length < buffer.readInt32BE(0)) return trips;
        started = buffer.readInt32BE(4) === 196608;
        buffer = buffer.subarray(buffer.readInt32BE(0));
        continue;
      }
      if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return trips;
      const type = String.fromCharCode(buffer[0] as number);
      if (type === 'S' || type === 'Q') trips += 1;
      buffer = buffer.subarray(1 + buffer.readInt32BE(1));
    }
  };
}

/** A reader of a Redis client's stream: how many commands each chunk completes. */
export function redisCommands(): (chunk: Buffer) => number {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    let commands = 0;
    for (let length = commandLength(buffer); length > 0; length = commandLength(buffer)) {
      commands += 1;
      buffer = buffer.subarray(length);
    }
    return commands;
  };
}

/** The bytes of the first complete command in `buffer`, 0 while it is incomplete. */
function commandLength(buffer: Buffer): number {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd < 0) return 0;
  // An inline command is one line; a RESP command is an array of bulk strings: *N, then N × ($L, L bytes).
  if (buffer[0] !== 0x2a) return lineEnd + 2;
  const items = Number(buffer.toString('latin1', 1, lineEnd));
  let position = lineEnd + 2;
  for (let i = 0; i < items; i++) {
    const headerEnd = buffer.indexOf('\r\n', position);
    if (headerEnd < 0) return 0;
    position = headerEnd + 2 + Number(buffer.toString('latin1', position + 1, headerEnd)) + 2;
    if (position > buffer.length) return 0;
  }
  return position;
}
