// openapi.yaml is the contract. It is read once; the request schemas of the
// routes are derived from it (src/http/request-schemas.ts compiles them), so
// the document and the validation cannot drift.
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';
import { readProjectFile } from './project-files.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  readonly text: string;
  readonly document: {
    readonly paths: Record<string, Record<string, Operation>>;
    readonly [key: string]: unknown;
  };
}

interface Operation {
  readonly parameters?: Parameter[];
  readonly requestBody?: unknown;
}

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly schema?: JsonSchema;
  readonly $ref?: string;
}

/** What a schema failure reports: the shape of Ajv's (and so Fastify's) validation errors. */
export interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string | undefined;
  readonly params: Record<string, unknown>;
}

let loaded: OpenApiDocument | undefined;

export function loadOpenApi(): OpenApiDocument {
  loaded ??= parseOpenApi(readProjectFile('openapi.yaml'));
  return loaded;
}

export function parseOpenApi(text: string): OpenApiDocument {
  return { text, document: parse(text) as OpenApiDocument['document'] };
}

/**
 * The document as an instance serves it: `url` as its one server, so that a
 * client (Swagger UI's "Try it out" among them) calls the roost that served
 * it. The text is the original but for the top-level `servers:` block, and
 * must still parse to the document it is served beside.
 */
export function servedAt(spec: OpenApiDocument, url: string): OpenApiDocument {
  const servers = [{ url }];
  // The top-level key and its indented lines, up to the next line that starts at column 0 (blank lines before it stay).
  const block = /^servers:[^\n]*\n(?:\n*[ \t][^\n]*\n)*/m;
  if (!block.test(spec.text)) throw new Error('openapi.yaml has no top-level servers block');
  const text = spec.text.replace(block, () => `servers:\n  - url: ${stringify(url).trimEnd()}\n`);
  const document = { ...spec.document, servers };
  if (!isDeepStrictEqual(parse(text), document)) throw new Error('openapi.yaml: replacing the servers block changed more than the servers');
  return { text, document };
}

/** The JSON schema of an operation's query string, built from its documented parameters. */
export function querystringSchema(spec: OpenApiDocument, path: string, method: string): JsonSchema {
  return parametersSchema(spec, path, method, 'query');
}

/** The JSON schema of an operation's path parameters (`/sessions/{id}`). */
export function paramsSchema(spec: OpenApiDocument, path: string, method: string): JsonSchema {
  return parametersSchema(spec, path, method, 'path');
}

/**
 * The JSON schema of an operation's request body. Every media type it
 * documents (form and JSON, say) must name the same schema: the route has one
 * validator whatever the content type, so that an undocumented one is refused too.
 */
export function bodySchema(spec: OpenApiDocument, path: string, method: string): JsonSchema {
  const body = resolve(spec.document, operationOf(spec, path, method).requestBody) as { content?: Record<string, { schema?: unknown }> } | undefined;
  const schemas = Object.values(body?.content ?? {}).map((media) => inline(spec.document, media.schema ?? {}) as JsonSchema);
  const [schema] = schemas;
  if (!schema) throw new Error(`openapi.yaml documents no request body for ${method.toUpperCase()} ${path}`);
  if (schemas.some((other) => JSON.stringify(other) !== JSON.stringify(schema))) {
    throw new Error(`openapi.yaml: the media types of ${method.toUpperCase()} ${path} name different schemas`);
  }
  return schema;
}

/** A schema of `components/schemas`, inlined as the routes use it. */
export function componentSchema(spec: OpenApiDocument, name: string): JsonSchema {
  return inline(spec.document, { $ref: `#/components/schemas/${name}` }) as JsonSchema;
}

function operationOf(spec: OpenApiDocument, path: string, method: string): Operation {
  const operation = spec.document.paths[path]?.[method];
  if (!operation) throw new Error(`openapi.yaml documents no ${method.toUpperCase()} ${path}`);
  return operation;
}

function parametersSchema(spec: OpenApiDocument, path: string, method: string, location: 'query' | 'path'): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const raw of operationOf(spec, path, method).parameters ?? []) {
    const parameter = resolve(spec.document, raw) as Parameter;
    if (parameter.in !== location) continue;
    properties[parameter.name] = inline(spec.document, parameter.schema ?? {}) as JsonSchema;
    if (parameter.required) required.push(parameter.name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

/** Follows a local `$ref` (`#/components/...`). */
function resolve(document: unknown, value: unknown): unknown {
  const ref = (value as { $ref?: unknown } | null)?.$ref;
  if (typeof ref !== 'string') return value;
  if (!ref.startsWith('#/')) throw new Error(`openapi.yaml: only local references are supported (${ref})`);
  let target: unknown = document;
  for (const part of ref.slice(2).split('/')) {
    target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (target === undefined) throw new Error(`openapi.yaml: unresolved reference ${ref}`);
  return resolve(document, target);
}

const DOCUMENTATION_ONLY = new Set(['example', 'examples', 'description']);
/** Keywords whose value is a map of names to schemas: the names are data, never keywords. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);
/** Keywords whose value is data, copied as it is. */
const VALUES = new Set(['const', 'enum', 'default']);

/** A schema with every `$ref` replaced by its target, and documentation-only keywords dropped. */
function inline(document: unknown, schema: unknown): unknown {
  const resolved = resolve(document, schema);
  if (Array.isArray(resolved)) return resolved.map((item) => inline(document, item));
  if (resolved === null || typeof resolved !== 'object') return resolved;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resolved)) {
    if (DOCUMENTATION_ONLY.has(key)) continue;
    if (VALUES.has(key)) result[key] = value;
    else if (SCHEMA_MAPS.has(key)) {
      result[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, item]) => [name, inline(document, item)]));
    } else result[key] = inline(document, value);
  }
  return result;
}
