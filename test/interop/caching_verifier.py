#!/usr/bin/python3
"""A Python sibling service's token check, kept running: PyJWT with a JWKS
cache that lives as long as roost's Cache-Control max-age allows, and a
rate-limited refetch when a token names a kid the cache lacks.

Usage:
    /usr/bin/python3 caching_verifier.py JWKS_URL ISSUER REFETCH_INTERVAL --alg ALG [--alg ALG ...]

REFETCH_INTERVAL: seconds that must pass since the last fetch before an
unknown kid may cause another one (a large value: never before max-age ends).

Reads one JSON object per line on stdin, {"now": <ms since the epoch>,
"token": "..."}, and answers one line each on stdout:
{"ok": true, "kid": ..., "sub": ..., "fetches": <JWKS fetches so far>} or
{"ok": false, "error": "...", "fetches": ...}. "now" is the clock the cache
runs on, so a test can move it; token expiry is PyJWT's own (real time).
"""

import json
import sys

from verify_jwt import KEY_TYPES, decode, fetch_jwks, find_key, header_of, key_for


class Verifier:
    def __init__(self, jwks_url, issuer, refetch_interval, algorithms):
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.refetch_interval_ms = refetch_interval * 1000
        self.algorithms = algorithms
        self.jwks = None
        self.fetched_at = None
        self.max_age_ms = 0
        self.fetches = 0

    def fetch(self, now):
        self.jwks, max_age = fetch_jwks(self.jwks_url)
        self.max_age_ms = max_age * 1000
        self.fetched_at = now
        self.fetches += 1

    def verify(self, token, now):
        kid, alg = header_of(token, self.algorithms)
        if self.jwks is None or now >= self.fetched_at + self.max_age_ms:
            self.fetch(now)
        jwk = find_key(self.jwks, kid)
        if jwk is None and now >= self.fetched_at + self.refetch_interval_ms:
            self.fetch(now)
            jwk = find_key(self.jwks, kid)
        if jwk is None:
            raise LookupError(f'no cached JWKS key has kid {kid!r}')
        claims = decode(token, key_for(jwk, alg), alg, self.issuer, None)
        return kid, claims


def main(argv):
    if len(argv) < 6 or (len(argv) - 4) % 2 != 0 or not argv[3].isdigit():
        sys.stderr.write('usage: caching_verifier.py JWKS_URL ISSUER REFETCH_INTERVAL --alg ALG [--alg ALG ...]\n')
        return 2
    flags = argv[4:]
    if any(flag != '--alg' for flag in flags[0::2]) or any(alg not in KEY_TYPES for alg in flags[1::2]):
        sys.stderr.write('only --alg ES256|EdDSA|RS256 may follow REFETCH_INTERVAL\n')
        return 2
    verifier = Verifier(argv[1], argv[2], int(argv[3]), flags[1::2])
    for line in sys.stdin:
        request = json.loads(line)
        try:
            kid, claims = verifier.verify(request['token'], request['now'])
            answer = {'ok': True, 'kid': kid, 'sub': claims['sub'], 'fetches': verifier.fetches}
        except Exception as error:  # any failure is a refusal
            answer = {'ok': False, 'error': f'{type(error).__name__}: {error}', 'fetches': verifier.fetches}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
