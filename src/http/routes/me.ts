// GET /me: the signed-in user's profile, for a valid bearer access token.
import type { FastifyPluginAsync } from 'fastify';
import { identifyUser, type RouteOptions } from '../route-options.js';
import { findUser } from '../../users/profiles.js';
import { createBearerAuth, invalidToken } from '../bearer.js';

export const meRoutes: FastifyPluginAsync<RouteOptions> = async (app, { config, deps }) => {
  const bearer = createBearerAuth(config, deps);

  app.get('/me', async (request, reply) => {
    const claims = await bearer.authenticate(request);
    identifyUser(request, claims.sub);
    const user = await findUser(deps.db, claims.sub);
    if (!user) throw invalidToken('The user of this token no longer exists');
    // X returns an email only once the user confirmed it: present means verified.
    const profile = user.email === null ? user : { ...user, email_verified: true };
    return reply.header('cache-control', 'no-store').send(profile);
  });
};
