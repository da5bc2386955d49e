// Proof Key for Code Exchange (RFC 7636), S256 only: `plain` would hand
// the verifier itself to anyone who reads the authorization request
// (RFC 9700 §2.1.1 recommends S256).
import { createHash, timingSafeEqual } from 'node:crypto';

// The verifier's grammar (§4.1: 43 to 128 characters of A-Z a-z 0-9 - . _ ~)
// is `TokenRequest.code_verifier` in openapi.yaml, and only there: POST
// /token refuses any other verifier before a code is looked at. The same
// goes for the challenge's (§4.2: 43 base64url characters) at GET /login.

export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** §4.6: the server recomputes the challenge from the verifier and compares. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(s256Challenge(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
