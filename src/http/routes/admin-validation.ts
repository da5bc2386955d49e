// Request validation of the admin routes, from their operations in
// openapi.yaml and nowhere else: path parameters, query strings and bodies.
// A path parameter the document refuses (an id that is no UUID) names
// nothing that exists: 404, as /sessions/{id} answers. Anything else is 400
// invalid_request with the failure in words.
import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { AppError } from '../../errors.js';
import { bodySchema, loadOpenApi, paramsSchema, querystringSchema } from '../../contract/openapi.js';
import { rateLimited, type RouteOptions } from '../route-options.js';
import { compileRequestSchema, describeBodyError, describeQueryError } from '../request-schemas.js';

/** The ids of the admin API's resources are UUIDs: anything else is no resource. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Query parameters the document types as integers: a query string carries them as digits. */
const INTEGER_PARAMETERS = ['limit'] as const;

function describe(errors: FastifySchemaValidationError[], dataVar: string): AppError {
  if (dataVar === 'params') return new AppError('not_found', 'No such resource');
  if (dataVar === 'body') return new AppError('invalid_request', describeBodyError(errors));
  const error = errors[0];
  const name = error?.instancePath.slice(1);
  if (error?.keyword === 'type' && (INTEGER_PARAMETERS as readonly string[]).includes(name ?? '')) {
    return new AppError('invalid_request', `${name} must be given once, as a whole number`);
  }
  return new AppError('invalid_request', describeQueryError(errors));
}

/** The route options of an admin operation: its rate limit and its documented request schemas. */
export function adminRoute(options: RouteOptions, path: string, method: 'get' | 'post' | 'delete', parts: { query?: boolean; params?: boolean; body?: boolean }) {
  const spec = loadOpenApi();
  return {
    config: rateLimited(options.config.admin.rateLimit, options.config.admin.rateLimitWindow),
    schema: {
      ...(parts.params ? { params: paramsSchema(spec, path, method) } : {}),
      ...(parts.query ? { querystring: querystringSchema(spec, path, method) } : {}),
      ...(parts.body ? { body: bodySchema(spec, path, method) } : {}),
    },
    validatorCompiler: compileRequestSchema,
    schemaErrorFormatter: describe,
    // OpenAPI's form for an integer in a query string is its digits; the schema then checks the number.
    preValidation: async (request: FastifyRequest) => {
      const query = request.query as Record<string, unknown> | undefined;
      for (const name of INTEGER_PARAMETERS) {
        const value = query?.[name];
        if (typeof value === 'string' && /^[0-9]{1,9}$/.test(value)) query![name] = Number(value);
      }
    },
  };
}

/** A path id as stored: lower case. The document's pattern takes either case, as /sessions/{id} does. */
export function idOf(request: FastifyRequest): string {
  const id = (request.params as { id: string }).id;
  // The schema checked it; this guards a route whose schema forgot to.
  if (!UUID.test(id)) throw new AppError('not_found', 'No such resource');
  return id.toLowerCase();
}

/** The page size asked for, or the default. */
export function limitOf(request: FastifyRequest, fallback: number): number {
  const limit = (request.query as { limit?: unknown }).limit;
  return typeof limit === 'number' ? limit : fallback;
}
