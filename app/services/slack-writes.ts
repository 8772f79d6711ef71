/** A Slack write from a job: paced per channel, with Slack's answer mapped to a job outcome. */

import { currentJob } from '../jobs/context';
import type { Pacer } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { JobOutcome } from '../ports/job-queue';
import type { SlackMessage, SlackResult, SlackSurface } from '../ports/slack-surface';

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

/**
 * A job's post, at most once per job generation: the post carries the job's
 * key as metadata, and a retried run (after a crash, a timeout or a 5xx that
 * may have posted) first looks for it — in the thread, or the channel's last
 * day — before posting again. Outside a job it is a plain paced post.
 */
export async function postOnce(
  deps: { pacer: Pacer; clock: Clock; slack: SlackSurface },
  channelId: string,
  message: SlackMessage,
): Promise<{ ok: true; value: { ts: string } } | { ok: false; outcome: JobOutcome }> {
  const job = currentJob();
  const postKey = job ? `${job.key}#${job.generation}` : undefined;
  if (job && postKey && job.attempts > 1) {
    const found = await deps.slack.findPost(channelId, postKey, message.threadTs);
    // Could not look (Slack down): try later. A permanent answer (e.g. the thread is gone)
    // means there is nothing to find; the post itself then gives the definitive answer.
    if (!found.ok && found.failure.kind === 'retryable') {
      return { ok: false, outcome: { kind: 'retry', error: found.failure.error } };
    }
    if (found.ok && found.value) return { ok: true, value: { ts: found.value } };
  }
  return pacedWrite(deps, channelId, () => deps.slack.postMessage(channelId, { ...message, postKey }));
}
