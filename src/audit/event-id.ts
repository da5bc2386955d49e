// Event ids are UUIDv7 (RFC 9562 §5.7): 48 bits of Unix time in
// milliseconds, then random bits. They sort by time, so the newest events sit
// together at one end of the primary key's index, and they serve as the
// webhook-id receivers deduplicate by (no '.' in them, as Standard Webhooks
// asks of an id that is signed).
import { randomBytes } from 'node:crypto';

export function newEventId(nowMs: number, random: (size: number) => Buffer = randomBytes): string {
  const bytes = Buffer.alloc(16);
  random(10).copy(bytes, 6);
  bytes.writeUIntBE(Math.max(0, Math.floor(nowMs)) % 2 ** 48, 0, 6);
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f); // version 7
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f); // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The milliseconds a UUIDv7 was made at. */
export function eventIdTime(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}
