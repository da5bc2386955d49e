#!/usr/bin/python3
"""Verifies a roost access token the way a Python sibling service would:
PyJWT, the keys fetched from roost's JWKS, the algorithm pinned, issuer checked.

Usage:
    /usr/bin/python3 verify_jwt.py [--alg ALG ...] JWKS_URL ISSUER TOKEN [AUDIENCE]

--alg may be given several times (ES256, EdDSA, RS256); the default is ES256.
Prints the verified claims as one JSON object on stdout and exits 0. On any
failure prints the reason on stderr and exits 1 (2 for bad usage).
"""

import json
import sys
import urllib.request

import jwt

# What each algorithm's key must be; anything else in the JWKS is refused.
KEY_TYPES = {
    'ES256': {'kty': 'EC', 'crv': 'P-256'},
    'EdDSA': {'kty': 'OKP', 'crv': 'Ed25519'},
    'RS256': {'kty': 'RSA'},
}
MIN_RSA_BITS = 2048  # RFC 7518 section 3.3


def fetch_jwks(url):
    """The key set and the seconds it may be cached (Cache-Control max-age)."""
    request = urllib.request.Request(url, headers={'Accept': 'application/json'})
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200:
            raise RuntimeError(f'JWKS answered HTTP {response.status}')
        max_age = 0
        for directive in (response.headers.get('Cache-Control') or '').split(','):
            name, _, value = directive.strip().partition('=')
            if name.lower() == 'max-age' and value.isdigit():
                max_age = int(value)
        return json.loads(response.read().decode('utf-8')), max_age


def find_key(jwks, kid):
    matches = [k for k in jwks.get('keys', []) if k.get('kid') == kid]
    if len(matches) > 1:
        raise jwt.InvalidTokenError(f'the JWKS has {len(matches)} keys with kid {kid!r}')
    return matches[0] if matches else None


def header_of(token, algorithms):
    """The kid and alg of a token whose alg is allowed. Keys named in the
    header (jku, x5u, jwk, x5c) are never used: keys come only from the JWKS
    (RFC 8725 section 3.10)."""
    header = jwt.get_unverified_header(token)
    alg = header.get('alg')
    if alg not in algorithms:
        raise jwt.InvalidAlgorithmError(f'alg {alg!r} is not allowed')
    kid = header.get('kid')
    if not isinstance(kid, str) or not kid:
        raise jwt.InvalidTokenError('the token header has no kid')
    return kid, alg


def key_for(jwk, alg):
    """The verification key, when the JWKS entry is a public key of this alg."""
    if jwk.get('alg') != alg:
        raise jwt.InvalidAlgorithmError(f"the key {jwk.get('kid')!r} is for {jwk.get('alg')!r}, the token says {alg!r}")
    if jwk.get('use', 'sig') != 'sig':
        raise jwt.InvalidTokenError(f"the key {jwk.get('kid')!r} is not a signing key")
    for member, value in KEY_TYPES[alg].items():
        if jwk.get(member) != value:
            raise jwt.InvalidTokenError(f"the key {jwk.get('kid')!r} is not a {alg} key ({member} is {jwk.get(member)!r})")
    if any(private in jwk for private in ('d', 'p', 'q', 'dp', 'dq', 'qi')):
        raise jwt.InvalidTokenError('the JWKS publishes a private key')
    key = jwt.PyJWK(jwk, algorithm=alg).key
    if alg == 'RS256' and key.key_size < MIN_RSA_BITS:
        raise jwt.InvalidTokenError(f'the RSA key has {key.key_size} bits, fewer than {MIN_RSA_BITS}')
    return key


def decode(token, key, alg, issuer, audience):
    return jwt.decode(
        token,
        key,
        algorithms=[alg],
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


def parse_args(argv):
    algorithms, rest = [], list(argv[1:])
    while rest and rest[0] == '--alg':
        if len(rest) < 2 or rest[1] not in KEY_TYPES:
            return None
        algorithms.append(rest[1])
        rest = rest[2:]
    if len(rest) not in (3, 4):
        return None
    return algorithms or ['ES256'], rest


def main(argv):
    parsed = parse_args(argv)
    if parsed is None:
        sys.stderr.write('usage: verify_jwt.py [--alg ES256|EdDSA|RS256 ...] JWKS_URL ISSUER TOKEN [AUDIENCE]\n')
        return 2
    algorithms, (jwks_url, issuer, token, *audience) = parsed
    try:
        kid, alg = header_of(token, algorithms)
        jwks, _ = fetch_jwks(jwks_url)
        jwk = find_key(jwks, kid)
        if jwk is None:
            raise jwt.InvalidTokenError(f'no JWKS key has kid {kid!r}')
        claims = decode(token, key_for(jwk, alg), alg, issuer, audience[0] if audience else None)
    except Exception as error:  # any failure is a refusal
        sys.stderr.write(f'verification failed: {type(error).__name__}: {error}\n')
        return 1
    sys.stdout.write(json.dumps(claims) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
