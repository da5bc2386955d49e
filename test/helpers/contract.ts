// Holds every response a test receives to openapi.yaml: the operation must
// exist, the status must be documented, the content type must be one the
// document lists for it, and a JSON body must match its schema.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

type Node = Record<string, unknown>;

export interface ObservedResponse {
  readonly method: string;
  /** The route pattern as Fastify knows it (`/sessions/:id`), or undefined when no route matched. */
  readonly route: string | undefined;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

export class Contract {
  readonly document: Node;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(text = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) {
    this.document = parse(text) as Node;
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    this.#ajv.addSchema({ ...this.document, $id: 'spec' });
  }

  /** Every documented operation as `METHOD /path` with OpenAPI path templates; `tag` keeps only those with the tag. */
  operations(filter: { tag?: string; withoutTag?: string } = {}): string[] {
    const paths = this.document.paths as Record<string, Node>;
    return Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([key]) => ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'].includes(key))
        .filter(([, operation]) => {
          const tags = ((operation as Node).tags as string[] | undefined) ?? [];
          return (filter.tag === undefined || tags.includes(filter.tag)) && (filter.withoutTag === undefined || !tags.includes(filter.withoutTag));
        })
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
  }

  /** What is wrong with a response, or an empty list. */
  check(response: ObservedResponse): string[] {
    const where = `${response.method} ${response.route ?? '(no route)'} → ${response.status}`;
    let pointer: string;
    if (response.route === undefined) {
      // Unknown paths: the not-found problem documented for every path.
      pointer = '/components/responses/NotFound';
      if (this.#at(pointer) === undefined) return [`${where}: openapi.yaml has no components.responses.NotFound`];
    } else {
      const path = toOpenApiPath(response.route);
      const operation = `/paths/${escape(path)}/${response.method.toLowerCase()}`;
      if (this.#at(operation) === undefined) return [`${where}: operation not documented`];
      const responses = this.#resolve(`${operation}/responses`);
      const node = this.#at(responses) as Node;
      const key = String(response.status) in node ? String(response.status) : `${String(response.status)[0]}XX` in node ? `${String(response.status)[0]}XX` : 'default' in node ? 'default' : undefined;
      if (key === undefined) return [`${where}: status not documented`];
      pointer = `${responses}/${key}`;
    }
    const resolved = this.#resolve(pointer);
    const content = this.#at(`${resolved}/content`) as Node | undefined;
    if (!content) return response.body.length > 0 && response.status !== 302 ? [`${where}: a body was sent but none is documented`] : [];
    const mediaType = (response.contentType ?? '').split(';')[0]?.trim() ?? '';
    if (!(mediaType in content)) return [`${where}: content type ${mediaType || '(none)'} is not documented (${Object.keys(content).join(', ')})`];
    if (!/json/.test(mediaType)) return [];
    const schemaPointer = `${resolved}/content/${escape(mediaType)}/schema`;
    if (this.#at(schemaPointer) === undefined) return [];
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [`${where}: the body is not JSON`];
    }
    const validate = this.#validator(this.#resolve(schemaPointer));
    return validate(body) ? [] : [`${where}: ${this.#ajv.errorsText(validate.errors)}`];
  }

  #validator(pointer: string): ValidateFunction {
    let validate = this.#compiled.get(pointer);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: `spec#${pointer}` });
      this.#compiled.set(pointer, validate);
    }
    return validate;
  }

  /** Follows `$ref`s along a JSON pointer, returning the pointer of what it finally names. */
  #resolve(pointer: string): string {
    const parts = pointer.split('/').slice(1);
    let current = '';
    for (const part of parts) {
      current = `${current}/${part}`;
      for (let node = this.#at(current) as Node | undefined; node && typeof node.$ref === 'string'; node = this.#at(current) as Node | undefined) {
        current = (node.$ref as string).replace(/^#/, '');
      }
    }
    return current;
  }

  #at(pointer: string): unknown {
    let node: unknown = this.document;
    for (const part of pointer.split('/').slice(1)) {
      node = (node as Node | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return node;
  }
}

/**
 * What openapi.yaml says it does not describe ("What this document covers"):
 * the reference page at /docs/ with everything under /docs/, CORS preflights
 * (OPTIONS), and HEAD, answered wherever GET is.
 */
export function isOutsideTheDocument(method: string, route: string): boolean {
  return method === 'HEAD' || method === 'OPTIONS' || route === '/docs' || route.startsWith('/docs/');
}

export function toOpenApiPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function escape(part: string): string {
  return part.replace(/~/g, '~0').replace(/\//g, '~1');
}

let shared: Contract | undefined;
export function contract(): Contract {
  shared ??= new Contract();
  return shared;
}

/** Records every response the app sends that breaks the contract. */
export function watchResponses(app: FastifyInstance, violations: string[]): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (route !== undefined && isOutsideTheDocument(request.method, route)) return payload;
    // A route a test adds for itself marks itself hidden; test/http/contract.test.ts checks roost's own hide nothing else.
    if ((request.routeOptions.schema as { hide?: boolean } | undefined)?.hide) return payload;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
    // Streams (static assets of the docs page) are not inspected.
    if (payload !== null && payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const contentType = reply.getHeader('content-type');
    violations.push(
      ...contract().check({
        method: request.method,
        route,
        status: reply.statusCode,
        contentType: typeof contentType === 'string' ? contentType : undefined,
        body,
      }),
    );
    return payload;
  });
}
