// The machine's ceiling: the least a server can do per request, measured in
// the same run as roost. Both answer every GET with the same bytes and
// headers roost's JWKS route sends, so the comparison is like for like.
import { createServer, type Server } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';

export interface CeilingBody {
  readonly body: string;
  readonly contentType: string;
  readonly cacheControl: string;
}

export function createNodeHttpCeiling(answer: CeilingBody): Server {
  const headers = { 'content-type': answer.contentType, 'cache-control': answer.cacheControl, 'content-length': Buffer.byteLength(answer.body) };
  return createServer({ keepAliveTimeout: 30_000 }, (_request, response) => {
    response.writeHead(200, headers).end(answer.body);
  });
}

export function createFastifyCeiling(answer: CeilingBody): FastifyInstance {
  const app = Fastify({ logger: false, keepAliveTimeout: 30_000 });
  app.get('/*', async (_request, reply) => reply.header('cache-control', answer.cacheControl).type(answer.contentType).send(answer.body));
  return app;
}
