// openapi.yaml is the contract. It is read once; request schemas for the
// routes are derived from it, so the document and the validation cannot drift.
import { parse } from 'yaml';
import { readProjectFile } from './project-files.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  readonly text: string;
  readonly document: {
    readonly paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
    readonly [key: string]: unknown;
  };
}

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly schema?: JsonSchema;
  readonly $ref?: string;
}

let loaded: OpenApiDocument | undefined;

export function loadOpenApi(): OpenApiDocument {
  if (!loaded) {
    const text = readProjectFile('openapi.yaml');
    loaded = { text, document: parse(text) as OpenApiDocument['document'] };
  }
  return loaded;
}

/** The JSON schema of an operation's query string, built from its documented parameters. */
export function querystringSchema(spec: OpenApiDocument, path: string, method: string): JsonSchema {
  const operation = spec.document.paths[path]?.[method];
  if (!operation) throw new Error(`openapi.yaml documents no ${method.toUpperCase()} ${path}`);
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const raw of operation.parameters ?? []) {
    const parameter = resolve(spec.document, raw) as Parameter;
    if (parameter.in !== 'query') continue;
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

/** A schema with every `$ref` replaced by its target, and documentation-only keywords dropped. */
function inline(document: unknown, schema: unknown): unknown {
  const resolved = resolve(document, schema);
  if (Array.isArray(resolved)) return resolved.map((item) => inline(document, item));
  if (resolved === null || typeof resolved !== 'object') return resolved;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resolved)) {
    if (key === 'example' || key === 'examples' || key === 'description') continue;
    result[key] = inline(document, value);
  }
  return result;
}
