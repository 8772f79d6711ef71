/**
 * Silences: time-boxed mutes. A new alert that matches an active silence is
 * stored (and listable) but not carded, and counted on the silence. Pure.
 *
 * A silence names a finding type pattern and, optionally, an account and a
 * resource; all that are given must match. The pattern is a GuardDuty finding
 * type in which `*` stands for any run of characters (including none), e.g.
 * `Recon:EC2/*`. Matching is case-sensitive, as GuardDuty's types are, and is
 * done in SQL (`finding_type LIKE pattern ESCAPE '\'`), so `matchesSilence`
 * mirrors that exactly for tests and previews.
 */

export interface SilenceMatcher {
  typePattern: string;
  accountId?: string | undefined;
  resourceId?: string | undefined;
}

/** A silence as stored; the owner's repository returns these. */
export interface SilenceRecord extends SilenceMatcher {
  id: string;
  createdById: string;
  reason: string;
  hits: number;
  lastHitAt: Date | null;
  createdAt: Date;
  expiresAt: Date;
  liftedAt?: Date | null | undefined;
  liftedById?: string | null | undefined;
}

export type SilenceStatus = 'active' | 'expired' | 'lifted';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 3600_000;

export const MAX_SILENCE_MS = 30 * DAY_MS;
export const MIN_SILENCE_MS = MINUTE_MS;
export const STALE_AFTER_MS = 7 * DAY_MS;
export const TYPE_PATTERN_MAX = 128;
export const SILENCE_REASON_MAX = 500;

const PATTERN_CHARS = /^[A-Za-z0-9:/._!&*-]+$/;
/**
 * The threat purpose (the part before the first `:`, e.g. `Recon`) must be
 * written out in full. That refuses `*`, `*:EC2/*` and `Re*:…`: one silence
 * can mute at most one family of threat purposes, never every finding.
 */
const LITERAL_PURPOSE = /^[A-Za-z0-9]+:./;

/** Why `p` is not an acceptable type pattern, or undefined when it is. */
export function validateTypePattern(p: string): string | undefined {
  if (p.length === 0) return 'the finding type pattern is empty';
  if (p.length > TYPE_PATTERN_MAX) return `the finding type pattern must be at most ${TYPE_PATTERN_MAX} characters`;
  if (!PATTERN_CHARS.test(p)) {
    return 'the finding type pattern may only contain letters, digits, `:/._!&-` and `*` as a wildcard';
  }
  if (!LITERAL_PURPOSE.test(p)) {
    return 'the finding type pattern is too broad: start it with a threat purpose and a colon, e.g. `Recon:EC2/*`';
  }
  return undefined;
}

/** The SQL LIKE pattern (with `ESCAPE '\'`): `\`, `%` and `_` are literal, `*` matches anything. */
export function typePatternToLike(p: string): string {
  return p.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/**
 * Whether `text` matches a `*` glob. Greedy with backtracking to the last
 * star only, so it is O(n·m) whatever the pattern (a regular expression of
 * many `.*` can take exponential time).
 */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The same semantics as the SQL match: every field the silence names must match. */
export function matchesSilence(m: SilenceMatcher, a: { type: string; accountId: string; resourceId: string }): boolean {
  if (m.accountId !== undefined && m.accountId !== a.accountId) return false;
  if (m.resourceId !== undefined && m.resourceId !== a.resourceId) return false;
  return globMatches(m.typePattern, a.type);
}

/** What a "Silence similar" on an alert's card mutes: its exact type, and its account and resource if chosen. */
export function silenceMatcherFor(
  a: { type: string; accountId: string; resourceId: string },
  scope: { account: boolean; resource: boolean },
): SilenceMatcher {
  return {
    typePattern: a.type,
    ...(scope.account ? { accountId: a.accountId } : {}),
    ...(scope.resource && a.resourceId !== '' ? { resourceId: a.resourceId } : {}),
  };
}

const UNIT_MS: Record<string, number> = { m: MINUTE_MS, h: 3600_000, d: DAY_MS, w: 7 * DAY_MS };

/** "90m", "2h", "3d", "1w": at least a minute, at most 30 days. One unit, no fractions. */
export function parseSilenceDuration(text: string): number | 'invalid' | 'too_long' {
  const m = /^(\d+)([mhdw])$/.exec(text.trim().toLowerCase());
  if (!m) return 'invalid';
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
  if (!Number.isFinite(ms)) return 'too_long';
  if (ms < MIN_SILENCE_MS) return 'invalid';
  return ms > MAX_SILENCE_MS ? 'too_long' : ms;
}

/** Why `text` is not an acceptable reason, or undefined. The stored reason is `text.trim()`. */
export function validateSilenceReason(text: string): string | undefined {
  const t = text.trim();
  if (t.length === 0) return 'give a reason for the silence';
  if (t.length > SILENCE_REASON_MAX) return `keep the reason to ${SILENCE_REASON_MAX} characters`;
  return undefined;
}

export interface SilenceNoticePlan {
  warnAt?: Date;
  expireAt: Date;
}

/**
 * When to tell the channel: a day before expiry, but only for silences that
 * last longer than a day (a shorter one would be warned about as it is made),
 * and at expiry.
 */
export function noticePlan(createdAt: Date, expiresAt: Date): SilenceNoticePlan {
  const expireAt = new Date(expiresAt.getTime());
  if (expiresAt.getTime() - createdAt.getTime() <= DAY_MS) return { expireAt };
  return { warnAt: new Date(expiresAt.getTime() - DAY_MS), expireAt };
}

/** Matched nothing for 7 days or more: since its last hit or, if none, since it was created. */
export function isStale(s: { createdAt: Date; lastHitAt: Date | null }, now: Date): boolean {
  const since = (s.lastHitAt ?? s.createdAt).getTime();
  return now.getTime() - since >= STALE_AFTER_MS;
}

/** Lifted wins over expired: a silence lifted before its expiry is reported as lifted. */
export function silenceStatus(s: { expiresAt: Date; liftedAt?: Date | null | undefined }, now: Date): SilenceStatus {
  if (s.liftedAt) return 'lifted';
  return now.getTime() >= s.expiresAt.getTime() ? 'expired' : 'active';
}

/** The first 8 hex digits of a silence's UUID, which `/alert unsilence` also accepts. */
export function shortSilenceId(id: string): string {
  return id.slice(0, 8);
}
