// Request validation from openapi.yaml's schemas: the compiler each route
// hands Fastify, and a schema failure in words for a problem's `detail`.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema, SchemaError } from '../contract/openapi.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

let ajv: Ajv2020 | undefined;

/**
 * Compiles a request schema for Fastify (a route's `validatorCompiler`), in
 * the document's own dialect (OpenAPI 3.1 is JSON Schema 2020-12). Unlike
 * Fastify's default validator it coerces nothing: a number or an array where
 * the document says string is refused, not turned into one.
 */
export function compileRequestSchema({ schema }: { readonly schema: unknown }): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv2020({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false });
    addFormats(ajv);
  }
  return ajv.compile(schema as JsonSchema);
}

/** The first schema failure of a request body, in words for a problem's `detail`. */
export function describeBodyError(errors: readonly SchemaError[] | null | undefined): string {
  return describeSchemaError(errors, 'The body must be form-encoded or a JSON object', 'The body');
}

/** The first schema failure of a query string, in words for a problem's `detail`. */
export function describeQueryError(errors: readonly SchemaError[] | null | undefined): string {
  return describeSchemaError(errors, 'The query string is malformed', 'The query string');
}

function describeSchemaError(errors: readonly SchemaError[] | null | undefined, notAnObject: string, whole: string): string {
  const error = errors?.[0];
  if (!error) return `${whole} is malformed`;
  const name = error.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
  if (error.keyword === 'required') return `${String(error.params.missingProperty)} is required`;
  if (name === '') return error.keyword === 'type' ? notAnObject : `${whole} ${error.message ?? 'is malformed'}`;
  // A form or query parameter given twice arrives as an array.
  if (error.keyword === 'type') return `${name} must be given once, as a ${String(error.params.type)}`;
  if (error.keyword === 'enum') return `${name} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
  if (error.keyword === 'const') return `${name} must be ${String(error.params.allowedValue)}`;
  return `${name} ${error.message ?? 'is malformed'}`;
}
