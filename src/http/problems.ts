// Errors as answers: every failure becomes an RFC 9457 problem+json reply
// with a stable code, and a 5xx carries nothing of the original error.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, PROBLEM_TYPE_BASE, type ErrorCode } from '../errors.js';

/** The problem an error is answered with (and counted under). */
export function toAppError(error: FastifyError | AppError, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) return new AppError(request.routeOptions.config.invalidCode ?? 'invalid_request', error.message);
  return fromFastifyError(error);
}

/** How every refused or failed request is logged: a 5xx with its cause, anything else as a refusal. */
export function logProblem(request: FastifyRequest, error: AppError, cause: unknown): void {
  if (error.status >= 500) request.log.error({ err: cause, code: error.code }, 'request failed');
  else request.log.info({ code: error.code }, 'request refused');
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  return reply
    .status(error.status)
    .headers(error.headers)
    .header('cache-control', 'no-store')
    .type('application/problem+json; charset=utf-8')
    .send(serializeProblem(error));
}

/**
 * An OAuth error of the token endpoint (RFC 6749 §5.2): `application/json`,
 * as the RFC says and OAuth client libraries insist on, with `error` and
 * `error_description` beside the problem's own members (RFC 9457), which
 * stay for clients that read those.
 */
export function sendOAuthError(reply: FastifyReply, error: AppError): FastifyReply {
  const body = JSON.stringify({ ...toProblem(error), error_description: error.detail }).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return reply.status(error.status).headers(error.headers).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
}

/**
 * Requests Node's HTTP parser refuses (malformed, headers too large, too
 * slow) never reach a route; they still get a problem+json answer. Nothing
 * is logged: the error carries the raw bytes, cookies and all.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('headers_too_large', 'The request line and headers must stay under 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('request_timeout', 'The request did not arrive in time')
        : new AppError('invalid_request', 'The request is not valid HTTP');
  const body = serializeProblem(appError);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function fromFastifyError(error: FastifyError): AppError {
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('payload_too_large', 'The request body is too large');
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('unsupported_media_type', 'This content type is not accepted here');
  if (status === 404) return new AppError('not_found', 'Not found');
  if (status >= 400 && status < 500) return new AppError('invalid_request', 'The request is malformed');
  // Nothing of the original error reaches the client.
  return new AppError('internal_error', 'Something went wrong on our side', { cause: error });
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [member: string]: unknown;
}

export function toProblem(error: AppError): Problem {
  return {
    // First, so that no extra member can overwrite a standard one.
    ...error.members,
    type: `${PROBLEM_TYPE_BASE}${error.code}`,
    title: ERRORS[error.code].title,
    status: error.status,
    detail: error.detail,
    code: error.code,
  };
}

/**
 * The problem as JSON, with <, >, & and the JavaScript line separators
 * escaped: the detail may quote a path or value the client sent, and no
 * response should carry it in a form a browser could read as markup.
 */
export function serializeProblem(error: AppError): string {
  return JSON.stringify(toProblem(error)).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
