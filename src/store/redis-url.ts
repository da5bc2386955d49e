// REDIS_URL: one string for the three ways to reach Redis. ioredis reads
// plain redis:// URLs itself but has no URL form for Sentinel or Cluster,
// so those two are parsed here into the options ioredis takes.
//
//   redis://[[user]:password@]host[:port][/db]       one server (rediss:// for TLS)
//   redis+sentinel://[[user]:password@]sentinel[:port][,sentinel[:port]…]/master-name[/db]
//   redis+cluster://[[user]:password@]node[:port][,node[:port]…]

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

export type RedisTarget =
  | { readonly kind: 'standalone'; readonly url: string }
  | ({ readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string; readonly db: number } & Credentials)
  | ({ readonly kind: 'cluster'; readonly nodes: readonly HostPort[] } & Credentials);

export type ParsedRedisUrl = { readonly ok: true; readonly value: RedisTarget } | { readonly ok: false; readonly reason: string };

const FORMS = 'redis://, rediss://, redis+sentinel:// or redis+cluster://';
const MULTI_HOST = /^(redis\+sentinel|redis\+cluster):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?$/;
const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;

export function parseRedisUrl(raw: string): ParsedRedisUrl {
  if (/^rediss?:\/\/[^/]/.test(raw)) return { ok: true, value: { kind: 'standalone', url: raw } };
  const fail = (reason: string): ParsedRedisUrl => ({ ok: false, reason });
  if (/^rediss\+(sentinel|cluster):/.test(raw)) return fail('with TLS is supported only for a single server (rediss://)');
  const match = MULTI_HOST.exec(raw);
  if (!match) return fail(`must be a ${FORMS} URL with no query or fragment`);
  const [, scheme, userinfo, hostList = '', pathname = ''] = match;
  const sentinel = scheme === 'redis+sentinel';

  const hosts: HostPort[] = [];
  for (const item of hostList.split(',')) {
    const parsed = parseHostPort(item.trim(), sentinel ? SENTINEL_PORT : REDIS_PORT);
    if (!parsed) return fail(`has a bad host "${item.trim()}": use host or host:port, separated by commas`);
    hosts.push(parsed);
  }
  let credentials: Credentials;
  try {
    credentials = parseUserinfo(userinfo);
  } catch {
    return fail('has badly percent-encoded credentials');
  }

  const segments = pathname.split('/').filter((segment) => segment !== '');
  if (!sentinel) {
    if (segments.length > 0) return fail('of a cluster takes no path: Redis Cluster has only database 0');
    return { ok: true, value: { kind: 'cluster', nodes: hosts, ...credentials } };
  }
  const [name, db = '0', ...rest] = segments;
  if (name === undefined) return fail('of a sentinel deployment must name the master: redis+sentinel://host:26379/mymaster');
  if (rest.length > 0 || !/^\d{1,2}$/.test(db)) return fail('must end with /master-name or /master-name/db, db a number');
  return { ok: true, value: { kind: 'sentinel', sentinels: hosts, name: decodeURIComponent(name), db: Number(db), ...credentials } };
}

function parseHostPort(item: string, defaultPort: number): HostPort | undefined {
  // An IPv6 literal keeps its brackets in the URL form only.
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(item);
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

function parseUserinfo(userinfo: string | undefined): Credentials {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  return { ...(username !== '' ? { username } : {}), ...(password !== undefined && password !== '' ? { password } : {}) };
}
