/**
 * Timestamps in findings come in several shapes from real sources: ISO 8601
 * with or without a zone, "YYYY-MM-DD HH:mm:ss.fffffffff" (nanoseconds, no
 * zone) and epoch numbers. All are read as UTC and returned as ISO strings
 * with millisecond precision (what the database stores for the dedup key).
 */
const SPACED = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/;
/** GuardDuty's own shape, and already the output's: read with one Date. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function parseTimestamp(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Seconds before 2001-09-09 in ms would be < 1e12; GuardDuty uses ms.
    const ms = value < 1e12 ? value * 1000 : value;
    return toIso(new Date(ms));
  }
  if (typeof value !== 'string' || value.length > 64) return undefined;
  if (CANONICAL.test(value)) {
    // What survives the round trip is a real instant; anything else (an impossible day,
    // 24:00) is read the general way below.
    const d = new Date(value);
    if (!Number.isNaN(d.getTime()) && d.toISOString() === value) return toIso(d);
  }
  const m = SPACED.exec(value.trim());
  if (!m) return undefined;
  const [, date, time, fraction = '', zone = 'Z'] = m;
  const millis = `${fraction}000`.slice(0, 3);
  // Date rolls impossible days over (2019-02-30 becomes 2019-03-02): refuse them.
  const calendar = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(calendar.getTime()) || calendar.toISOString().slice(0, 10) !== date) return undefined;
  return toIso(new Date(`${date}T${time}.${millis}${zone}`));
}

function toIso(d: Date): string | undefined {
  const t = d.getTime();
  // Reject out-of-range years (and anything Date could not read).
  if (Number.isNaN(t) || t < Date.UTC(2000, 0, 1) || t > Date.UTC(2200, 0, 1)) return undefined;
  return d.toISOString();
}
