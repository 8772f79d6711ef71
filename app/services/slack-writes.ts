/** A Slack write from a job: paced per channel, with Slack's answer mapped to a job outcome. */
import type { Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { JobOutcome } from '../ports/job-queue';
import type { SlackResult } from '../ports/slack-surface';

export async function pacedWrite<T>(
  deps: { pacer: Pacer; clock: Clock },
  channelId: string,
  write: () => Promise<SlackResult<T>>,
): Promise<{ ok: true; value: T } | { ok: false; outcome: JobOutcome }> {
  const slot = await deps.pacer.reserve(channelId);
  if (!slot.ok) return { ok: false, outcome: { kind: 'defer', until: slot.waitUntil } };
  const res = await write();
  if (res.ok) return { ok: true, value: res.value };
  const f = res.failure;
  if (f.kind === 'permanent') return { ok: false, outcome: { kind: 'fail', error: f.error } };
  if (f.retryAfterMs !== undefined)
    await deps.pacer.block(channelId, new Date(deps.clock.now().getTime() + f.retryAfterMs));
  return { ok: false, outcome: { kind: 'retry', error: f.error, retryAfterMs: f.retryAfterMs } };
}
