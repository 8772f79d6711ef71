/**
 * When to nudge an unacknowledged alert: at a deadline by severity, then at
 * twice that, when it is also escalated to the security team. Pure.
 */
import type { SeverityLabel } from './severity';

/** Milliseconds after arrival, per severity; undefined: never nudge. */
export type NudgePolicy = Record<SeverityLabel, number | undefined>;

export const NUDGE_STEPS = 2;

/** When step `step` (1-based) is due for an alert that arrived at `arrivedAt`. */
export function nudgeDueAt(
  policy: NudgePolicy,
  severity: SeverityLabel,
  arrivedAt: Date,
  step: number,
): Date | undefined {
  const after = policy[severity];
  if (after === undefined || step < 1 || step > NUDGE_STEPS) return undefined;
  return new Date(arrivedAt.getTime() + after * step);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const MAX_DURATION_MS = 30 * 86_400_000;

/** Parses "15m", "1h", "90s", "2d" (more than zero, at most 30 days), or "off". */
export function parseDuration(text: string): number | undefined | 'invalid' {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none') return undefined;
  const m = /^(\d+)(s|m|h|d)$/.exec(t);
  if (!m) return 'invalid';
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  // Zero would nudge on arrival; more than 30 days is surely a typo.
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : 'invalid';
}
