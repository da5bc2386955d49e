#!/usr/bin/python3
"""Verifies a roost access token the way a Python sibling service would:
PyJWT, the keys fetched from roost's JWKS, ES256 only, issuer checked.

Usage:
    /usr/bin/python3 verify_jwt.py JWKS_URL ISSUER TOKEN [AUDIENCE]

Prints the verified claims as one JSON object on stdout and exits 0. On any
failure prints the reason on stderr and exits 1 (2 for bad usage).
"""

import json
import sys
import urllib.request

import jwt

ALGORITHMS = ['ES256']


def fetch_jwks(url):
    request = urllib.request.Request(url, headers={'Accept': 'application/json'})
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200:
            raise RuntimeError(f'JWKS answered HTTP {response.status}')
        return json.loads(response.read().decode('utf-8'))


def signing_key(jwks, token):
    header = jwt.get_unverified_header(token)
    if header.get('alg') not in ALGORITHMS:
        raise jwt.InvalidAlgorithmError(f"alg {header.get('alg')!r} is not allowed")
    kid = header.get('kid')
    if not kid:
        raise jwt.InvalidTokenError('the token header has no kid')
    matches = [k for k in jwks.get('keys', []) if k.get('kid') == kid]
    if len(matches) != 1:
        raise jwt.InvalidTokenError(f'expected one JWKS key with kid {kid!r}, found {len(matches)}')
    key = matches[0]
    if key.get('use', 'sig') != 'sig' or key.get('kty') != 'EC' or key.get('crv') != 'P-256':
        raise jwt.InvalidTokenError(f'the JWKS key {kid!r} is not a P-256 signing key')
    if 'd' in key:
        raise jwt.InvalidTokenError('the JWKS publishes a private key')
    return jwt.PyJWK(key, algorithm='ES256').key


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write('usage: verify_jwt.py JWKS_URL ISSUER TOKEN [AUDIENCE]\n')
        return 2
    jwks_url, issuer, token = argv[1], argv[2], argv[3]
    audience = argv[4] if len(argv) == 5 else None
    try:
        key = signing_key(fetch_jwks(jwks_url), token)
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=issuer,
            audience=audience,
            options={
                'require': ['exp', 'iat', 'iss', 'sub'],
                'verify_signature': True,
                'verify_exp': True,
                'verify_iat': True,
                'verify_iss': True,
                'verify_aud': True,
            },
        )
    except Exception as error:  # any failure is a refusal
        sys.stderr.write(f'verification failed: {type(error).__name__}: {error}\n')
        return 1
    sys.stdout.write(json.dumps(claims) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
