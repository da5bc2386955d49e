// The admin API under /admin/, for operators. Off unless ADMIN_API_KEYS is
// set: then no route exists, and /admin/… answers exactly as any unknown
// path does. Every route wants one of the keys as a bearer token and is
// rate-limited per client address (ADMIN_RATE_LIMIT per
// ADMIN_RATE_LIMIT_WINDOW, each route its own counter).
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../route-options.js';
import { requireAdminKey } from './admin-auth.js';
import { adminLogRoutes } from './admin-logs.js';
import { adminUserRoutes } from './admin-users.js';

export const adminRoutes: FastifyPluginAsync<RouteOptions> = async (app, options) => {
  if (options.config.admin.keys.length === 0) return;
  // In this plugin's context: its routes only, the ones registered below included.
  requireAdminKey(app, options.config.admin.keys);
  await app.register(adminUserRoutes, options);
  await app.register(adminLogRoutes, options);
};
