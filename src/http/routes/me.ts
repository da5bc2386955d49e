// GET /me: the signed-in user's profile, for a valid bearer access token.
import type { FastifyPluginAsync } from 'fastify';
import { identifyUser, type RouteOptions } from '../route-options.js';
import { findUser } from '../../users/profiles.js';
import { createSessionProfiles } from '../../sessions/session-profiles.js';
import { createBearerAuth, invalidToken } from '../bearer.js';

export const meRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const bearer = createBearerAuth(config, deps);
  // The answer's JSON, read at most once per session per SESSION_CHECK_CACHE_MS (sessions/session-profiles.ts).
  const profiles = createSessionProfiles<string>(deps.now);
  const readProfile = async (id: string): Promise<string | undefined> => {
    const user = await findUser(deps.db, id);
    if (!user) return undefined;
    // X returns an email only once the user confirmed it: present means verified.
    return JSON.stringify(user.email === null ? user : { ...user, email_verified: true });
  };

  app.get('/me', async (request, reply) => {
    const claims = await bearer.authenticate(request);
    identifyUser(request, claims.sub);
    const profile = await profiles.find(claims.sid, claims.sub, readProfile);
    if (profile === undefined) throw invalidToken('The user of this token no longer exists');
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(profile);
  });
};
