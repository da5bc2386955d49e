// The admin API's authentication: `Authorization: Bearer <one of
// ADMIN_API_KEYS>`, checked before the request's body is read or validated
// (and after the rate limit has counted it, so guessing keys is slowed too).
// A failure is 401 with a challenge for the admin realm (RFC 6750 §3); the
// answer and the logs never repeat what was presented.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { createAdminKeyring } from '../../admin/admin-keys.js';
import type { AuditEventInput } from '../../audit/events.js';
import type { AuditWriter } from '../../audit/writer.js';
import type { Db } from '../../store/db.js';

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;
const MAX_AUTHORIZATION_LENGTH = 8192;
const REALM = 'roost-admin';

/** Who made an admin request, as its audit events record it. */
export interface AdminActor {
  /** The id of the key presented (admin/admin-keys.ts), never the key. */
  readonly keyId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

const actors = new WeakMap<FastifyRequest, AdminActor>();

/** Refuses every request of `app`'s routes that does not present one of `keys`. */
export function requireAdminKey(app: FastifyInstance, keys: readonly string[]): void {
  const keyring = createAdminKeyring(keys);
  app.addHook('preParsing', async (request) => {
    const header = request.headers.authorization;
    // No credentials: the challenge names no error (RFC 6750 §3.1).
    if (header === undefined) throw unauthorized('An admin API key is required: send Authorization: Bearer <key>', false);
    const presented = header.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(header)?.[1] : undefined;
    const keyId = presented === undefined ? undefined : keyring.match(presented);
    if (keyId === undefined) throw unauthorized('The admin API key is not valid', true);
    const userAgent = request.headers['user-agent'];
    actors.set(request, { keyId, ip: request.ip || null, userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent : null });
    request.log = request.log.child({ adminKeyId: keyId });
  });
}

/** The actor of a request that passed requireAdminKey. */
function adminActor(request: FastifyRequest): AdminActor {
  const actor = actors.get(request);
  // Only a route registered without requireAdminKey could get here: a bug, and a 500 rather than an open door.
  if (actor === undefined) throw new AppError('internal_error', 'Something went wrong on our side');
  return actor;
}

function unauthorized(detail: string, presented: boolean): AppError {
  const challenge = presented ? `Bearer realm="${REALM}", error="invalid_token", error_description="${detail}"` : `Bearer realm="${REALM}"`;
  return new AppError('invalid_token', detail, { headers: { 'www-authenticate': challenge } });
}

/** Who acted, as every audit event of an admin request records it: from where, and with which key (by its id). */
export function auditedActor(request: FastifyRequest) {
  const actor = adminActor(request);
  return { ip: actor.ip, userAgent: actor.userAgent, detail: { by: 'admin', key_id: actor.keyId } };
}

/** Records an `admin.action` (detail.action names it): an admin request with no event type of its own. */
export function recordAdminAction(
  deps: { readonly db: Db; readonly audit: AuditWriter },
  request: FastifyRequest,
  action: string,
  event: Pick<AuditEventInput, 'userId' | 'sessionId'> & { readonly detail?: Readonly<Record<string, string>> } = {},
) {
  const actor = auditedActor(request);
  return deps.audit.record(deps.db, { ...event, type: 'admin.action', ip: actor.ip, userAgent: actor.userAgent, detail: { action, ...actor.detail, ...event.detail } });
}
