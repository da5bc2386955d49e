// The keyset cursor of a newest-first listing: the (time, id) of the last
// row of a page, opaque to the client (base64url of a small JSON array) and
// checked strictly when it comes back, since the client may send anything.

export interface Cursor {
  readonly time: Date;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CURSOR = 200;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.time.toISOString(), cursor.id])).toString('base64url');
}

/** undefined for anything encodeCursor did not make. */
export function decodeCursor(value: string): Cursor | undefined {
  if (value.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
  const [time, id] = parsed as unknown[];
  if (typeof time !== 'string' || typeof id !== 'string' || !UUID.test(id)) return undefined;
  const date = new Date(time);
  // Only the exact form toISOString writes: no other date syntax slips through.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== time) return undefined;
  return { time: date, id };
}
