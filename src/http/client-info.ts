// What a session records about the device that opened it: shown to the user
// in their session list, never used to decide anything.
import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from '../sessions/grants.js';

export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return { userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent : null, ip: request.ip || null };
}
