// Where a callback sends the browser back to the app, read strictly: the
// exact return_to, and the parameters roost added to it (tokens, a code or an
// OAuth error, RFC 6749 §4.1.2.1), in the fragment or, in the PKCE mode, at
// the end of its query. Also the counter and log line a failed sign-in leaves.
import { parsePrometheus, sampleKey } from './prometheus.js';

/** Where roost puts its answer: the fragment mode, or the code (PKCE) mode's query. */
export type AnswerIn = 'fragment' | 'query';

/**
 * The parameters roost added to `returnTo` to make `location`; null when
 * `location` is not `returnTo` itself with parameters added in that place.
 * A name given twice is an error: a test must see exactly one value.
 */
export function addedTo(location: string | null | undefined, returnTo: string, answerIn: AnswerIn = 'fragment'): Record<string, string> | null {
  if (!location) return null;
  let added: string;
  if (answerIn === 'fragment') {
    if (!location.startsWith(`${returnTo}#`)) return null;
    added = location.slice(returnTo.length + 1);
  } else {
    if (!URL.canParse(location)) return null;
    const at = new URL(location);
    const expected = new URL(returnTo);
    if (at.hash !== '' || at.origin !== expected.origin || at.pathname !== expected.pathname) return null;
    const search = at.search.replace(/^\?/, '');
    const existing = expected.search.replace(/^\?/, '');
    if (existing === '') added = search;
    else if (search.startsWith(`${existing}&`)) added = search.slice(existing.length + 1);
    else return null;
  }
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(added)) {
    if (Object.hasOwn(params, name)) throw new Error(`${name} appears twice in ${location}`);
    params[name] = value;
  }
  return params;
}

/** GET /metrics now: the value of one sample by name and labels (0 when never counted). */
export async function scrape(roostUrl: string): Promise<(name: string, labels?: Record<string, string>) => number> {
  const response = await fetch(`${roostUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const samples = parsePrometheus(await response.text());
  return (name, labels = {}) => samples.get(sampleKey(name, labels)) ?? 0;
}

/** roost_sign_ins_failed_total as GET /metrics shows it now, per reason and step. */
export async function failedSignIns(roostUrl: string): Promise<(reason: string, step?: 'start' | 'finish') => number> {
  const value = await scrape(roostUrl);
  return (reason, step = 'finish') => value('roost_sign_ins_failed_total', { reason, step });
}

/** A log line roost writes for a request that failed: 'request failed' (error level) or 'request refused' (info). */
export function failureLine(logs: readonly Record<string, unknown>[], code: string): Record<string, unknown> | undefined {
  return logs.find((line) => (line.msg === 'request failed' || line.msg === 'request refused') && line.code === code);
}
