// return_to values that must never produce a redirect, built around one
// allowed origin so the same table runs against the pure validator and a
// live roost. Each entry says which trick it tries.

export interface HostileValue {
  readonly category: string;
  readonly value: string;
}

/** Hostile return_to values for an allowed origin such as https://app.example.com or http://localhost:5173. */
export function hostileReturnTos(allowedOrigin: string): HostileValue[] {
  const { protocol, host } = new URL(allowedOrigin);
  const scheme = protocol.slice(0, -1);
  const other = scheme === 'https' ? 'http' : 'https';
  const origin = `${scheme}://${host}`;
  const lookalike = host.replace('a', '\u0430'); // Cyrillic a
  const long = 3000;
  const table: Array<[string, string[]]> = [
    ['empty and relative', ['', '/', '/relative/path', 'relative', './x', '../x', '?x=1', '#x', `${host}/x`]],
    ['protocol-relative', ['//evil.com', '///evil.com', '////evil.com', `//${host}/`, '/\\evil.com', '\\/evil.com', '\\\\evil.com']],
    [
      'scheme tricks',
      [
        `${scheme}:evil.com`,
        `${scheme}:/evil.com`,
        `${scheme}:\\\\evil.com`,
        `javascript:alert(1)`,
        `JaVaScRiPt:alert(1)`,
        `javascript://${host}/%0aalert(1)`,
        `javascript:${origin}`,
        'data:text/html,<script>alert(1)</script>',
        'vbscript:msgbox(1)',
        `blob:${origin}/uuid`,
        `ftp://${host}/`,
        `ws://${host}/`,
        `wss://${host}/`,
        'file:///etc/passwd',
        `${other}://${host}/`,
        `%68ttp${scheme === 'https' ? 's' : ''}://${host}/`,
        `${scheme}%3A%2F%2F${host}%2F`,
        `${scheme.toUpperCase().replace(/./g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))}://${host}/`, // fullwidth scheme
      ],
    ],
    ['other hosts', [`${scheme}://evil.com`, `${scheme}://evil.com/${origin}`, `${scheme}://evil.com?${origin}`, `${scheme}://evil.com#${origin}`]],
    [
      'suffix and prefix hosts',
      [`${scheme}://${host}.evil.com/`, `${scheme}://evil${host}/`, `${scheme}://evil.${host}/`, `${scheme}://${host}evil.com/`, `${scheme}://${host}./`, `${scheme}://${host}../`],
    ],
    [
      'userinfo',
      [
        `${scheme}://${host}@evil.com/`,
        `${scheme}://user:pass@${host}/`,
        `${scheme}://user@${host}/`,
        `${scheme}://@${host}/`,
        `${scheme}://:@${host}/`,
        `${scheme}://${host}:443@evil.com/`,
        `${scheme}://${host}%40evil.com/`,
        `${scheme}://${host}%252f@evil.com/`,
        `${scheme}://evil.com\\@${host}/`,
        `${scheme}://${host}@evil.com@evil.com/`,
      ],
    ],
    ['backslashes', [`${origin}\\@evil.com/`, `${origin}\\.evil.com/`, `${scheme}:\\\\${host}\\`, `${origin}/\\evil.com`]],
    ['ports', [`${origin}:8443/`, `${origin}:1/`, `${origin}:65536/`, `${origin}:-1/`, `${origin}:443:443/`, `${origin}:0x1bb/`, `${scheme}://[${host}]/`]],
    [
      'IP literals and numeric hosts',
      [`${scheme}://2130706433/`, `${scheme}://0x7f.0.0.1/`, `${scheme}://127.1/`, `${scheme}://[::1]/`, `${scheme}://[::ffff:127.0.0.1]/`, `${scheme}://0/`],
    ],
    [
      'look-alike and IDN hosts',
      [
        `${scheme}://${lookalike}/`,
        `${scheme}://${host.replace(/\./g, '\u3002')}/`, // ideographic full stops
        `${scheme}://${host.replace(/\./g, '\uff0e')}/`, // fullwidth full stops
        `${scheme}://${host.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))}/`, // fullwidth letters
        `${scheme}://${host}\u3002evil.com/`,
        `${scheme}://xn--${host}/`,
        `${scheme}://${host.replace('a', 'xn--80a')}/`,
      ],
    ],
    [
      'percent- and double-encoding',
      [
        `${scheme}://${host.replace('.', '%2e')}/`,
        `${scheme}://${host}%2eevil.com/`,
        `${scheme}://${host}%2f@evil.com/`,
        `${scheme}://${host}%252eevil.com/`,
        `${scheme}://${host}%00.evil.com/`,
        `${scheme}%253A%252F%252F${host}%252F`,
        `%2F%2Fevil.com`,
        `%252F%252Fevil.com`,
      ],
    ],
    [
      'control characters and whitespace',
      [
        ` ${origin}/`,
        `${origin}/ `,
        `${origin}/\t`,
        `\t${origin}/`,
        `${origin}/\n`,
        `\n${origin}/`,
        `${origin}/\r\nSet-Cookie:x=1`,
        `${origin}/\u0000`,
        `${origin}/\u0007`,
        `${origin}/\u007f`,
        `${origin}/\u00a0`,
        `${origin}/\u1680`,
        `${origin}/\u2028`,
        `${origin}/\u2029`,
        `${origin}/\u200b`,
        `${origin}/\u202e`,
        `${origin}/\u3000`,
        `${origin}/\ufeff`,
        `${scheme}://${host}\t.evil.com/`,
        `${scheme}://ev\nil.com/${host}/`,
      ],
    ],
    ['overlong values', [`${scheme}://${'a'.repeat(long)}.${host}/`, `${origin}/${'a'.repeat(long)}`, `${origin}/?${'q'.repeat(long)}`]],
    ['fragments', [`${origin}/#fragment`, `${origin}#`, `${origin}/#access_token=stolen`, `${origin}/%23x#y`]],
  ];
  // A transformation that found nothing to change (a host without dots) is no test.
  return table.flatMap(([category, values]) => values.filter((value) => value !== `${origin}/`).map((value) => ({ category, value })));
}

/** Test names stay on one TAP line whatever the value holds. */
export function printable(raw: string): string {
  const shown = raw.length > 60 ? `${raw.slice(0, 60)}… (${raw.length} chars)` : raw;
  return shown.replace(/[^\x21-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
