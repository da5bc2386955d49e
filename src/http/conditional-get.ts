// Conditional GET (RFC 9110 §13.1.2): does If-None-Match name the
// representation we hold? Then the answer is 304 Not Modified.

/** Longer headers are not parsed: they name no representation of ours. */
const MAX_IF_NONE_MATCH = 4096;

export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined || header.length > MAX_IF_NONE_MATCH) return false;
  for (const item of header.split(',')) {
    const tag = item.trim();
    if (tag === '*') return true;
    // If-None-Match uses the weak comparison: W/"x" matches "x" (RFC 9110 §8.8.3.2).
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}
