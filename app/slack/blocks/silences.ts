/**
 * Silences in Slack: the "Silence similar" modal and its submission, the
 * `/alert silences` list, and the short channel posts. Pure.
 *
 * Finding types and resource ids come from the finding (attacker-influenced)
 * and reasons from people, so all of them are escaped, and shown in code spans
 * or on one line so they cannot pass for our own text.
 */
import { z } from 'zod';
import {
  parseSilenceDuration,
  SILENCE_REASON_MAX,
  type SilenceRecord,
  type SilenceStatus,
  shortSilenceId,
  silenceStatus,
  validateSilenceReason,
} from '../../domain/silences';
import { humanDuration } from '../../domain/triage';
import { ACTION_IDS, CALLBACK_IDS, INPUT_IDS } from '../ids';
import { escapeAndFit, fitPlain, slackDate } from './mrkdwn';

type Block = Record<string, unknown>;

/** Slack's limits for the elements used here (https://api.slack.com/reference/block-kit/composition-objects). */
const OPTION_TEXT_MAX = 75;
const MODAL_TITLE_MAX = 24;
const CONFIRM_TEXT_MAX = 300;
/** A message holds 50 blocks: a heading, 40 silences and the "and N more" line stay well inside. */
export const SILENCE_LIST_MAX = 40;

/** The durations the modal offers, shortest first; the value is what parseSilenceDuration reads. */
export const SILENCE_DURATION_CHOICES = [
  { value: '1h', label: '1 hour' },
  { value: '4h', label: '4 hours' },
  { value: '1d', label: '1 day' },
  { value: '3d', label: '3 days' },
  { value: '7d', label: '7 days' },
  { value: '14d', label: '14 days' },
  { value: '30d', label: '30 days' },
] as const;
const DEFAULT_DURATION = '1d';

export type SilenceScopeKey = 'type' | 'account' | 'resource';
export type SilenceScope = Record<SilenceScopeKey, boolean>;

export interface SilenceModalInput {
  alertId: string;
  findingType: string;
  accountId: string;
  /** Empty when the finding names no resource: the resource box is then left out. */
  resourceId: string;
  /** How the card names the resource, e.g. "EC2 instance i-0abc (web-1)"; falls back to the id. */
  resourceLabel?: string | undefined;
  channel?: string | undefined;
  messageTs?: string | undefined;
}

export interface SilenceView {
  type: 'modal';
  callback_id: string;
  private_metadata: string;
  title: { type: 'plain_text'; text: string };
  submit: { type: 'plain_text'; text: string };
  close: { type: 'plain_text'; text: string };
  blocks: Block[];
}

function plain(text: string, limit: number): { type: 'plain_text'; text: string; emoji: false } {
  return { type: 'plain_text', text: fitPlain(text, limit), emoji: false };
}

function option(value: string, text: string, description?: string): Block {
  return {
    text: plain(text, OPTION_TEXT_MAX),
    value,
    ...(description ? { description: plain(description, OPTION_TEXT_MAX) } : {}),
  };
}

/**
 * The "Silence similar" modal. The finding type and the account start
 * checked: a silence muting one type in one account is the narrowest that
 * still catches repeats on other resources (GuardDuty updates an existing
 * finding when the same resource repeats). Metadata holds ids only.
 */
export function silenceModal(input: SilenceModalInput): SilenceView {
  const typeOption = option('type', 'This finding type', input.findingType);
  const accountOption = option('account', 'This account', input.accountId);
  const scopeOptions = [typeOption, accountOption];
  if (input.resourceId !== '') {
    scopeOptions.push(option('resource', 'This resource', input.resourceLabel || input.resourceId));
  }
  const durations = SILENCE_DURATION_CHOICES.map((d) => option(d.value, d.label));
  const meta = {
    alertId: input.alertId,
    ...(input.channel ? { channel: input.channel } : {}),
    ...(input.messageTs ? { messageTs: input.messageTs } : {}),
  };
  return {
    type: 'modal',
    callback_id: CALLBACK_IDS.silence,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: fitPlain('Silence similar alerts', MODAL_TITLE_MAX) },
    submit: { type: 'plain_text', text: 'Silence' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: INPUT_IDS.silenceScope.block,
        label: { type: 'plain_text', text: 'Mute new alerts that match' },
        hint: {
          type: 'plain_text',
          text: 'The finding type always applies; add the account or resource to narrow it.',
        },
        element: {
          type: 'checkboxes',
          action_id: INPUT_IDS.silenceScope.action,
          options: scopeOptions,
          // Slack requires initial options to be identical to listed ones.
          initial_options: [typeOption, accountOption],
        },
      },
      {
        type: 'input',
        block_id: INPUT_IDS.silenceDuration.block,
        label: { type: 'plain_text', text: 'For' },
        element: {
          type: 'static_select',
          action_id: INPUT_IDS.silenceDuration.action,
          options: durations,
          initial_option: durations.find((d) => d.value === DEFAULT_DURATION),
        },
      },
      {
        type: 'input',
        block_id: INPUT_IDS.reason.block,
        label: { type: 'plain_text', text: 'Reason (shown to the channel)' },
        element: {
          type: 'plain_text_input',
          action_id: INPUT_IDS.reason.action,
          multiline: true,
          max_length: SILENCE_REASON_MAX,
          placeholder: { type: 'plain_text', text: 'e.g. pen test of the staging VPC this week' },
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text:
              'Matching alerts are still stored and listed (`/alert silences` shows the silence and its hits), ' +
              'but get no card. The channel is told before the silence expires and when it ends.',
          },
        ],
      },
    ],
  };
}

const submissionValues = z.object({
  [INPUT_IDS.silenceScope.block]: z
    .object({
      [INPUT_IDS.silenceScope.action]: z.object({
        selected_options: z.array(z.object({ value: z.string() })).nullish(),
      }),
    })
    .optional(),
  [INPUT_IDS.silenceDuration.block]: z
    .object({
      [INPUT_IDS.silenceDuration.action]: z.object({ selected_option: z.object({ value: z.string() }).nullish() }),
    })
    .optional(),
  [INPUT_IDS.reason.block]: z
    .object({ [INPUT_IDS.reason.action]: z.object({ value: z.string().nullish() }) })
    .optional(),
});

export type SilenceSubmission =
  | { ok: true; scope: SilenceScope; durationMs: number; reason: string }
  | { ok: false; errors: Record<string, string> };

/**
 * Reads `view.state.values` of a silence modal submission. Errors are keyed
 * by block id, ready for `response_action: 'errors'`. The finding type must
 * stay checked (a silence never mutes every type), the duration must be one
 * the modal offers, and the reason must not be blank; it is returned trimmed.
 */
export function parseSilenceSubmission(values: unknown): SilenceSubmission {
  const parsed = submissionValues.safeParse(values);
  const v = parsed.success ? parsed.data : {};
  const errors: Record<string, string> = {};

  const selected = new Set(
    (v[INPUT_IDS.silenceScope.block]?.[INPUT_IDS.silenceScope.action]?.selected_options ?? []).map((o) => o.value),
  );
  const scope: SilenceScope = {
    type: selected.has('type'),
    account: selected.has('account'),
    resource: selected.has('resource'),
  };
  if (!scope.type) {
    errors[INPUT_IDS.silenceScope.block] = 'Keep “This finding type” checked: a silence always matches a finding type.';
  }

  const durationValue = v[INPUT_IDS.silenceDuration.block]?.[INPUT_IDS.silenceDuration.action]?.selected_option?.value;
  const offered = SILENCE_DURATION_CHOICES.some((d) => d.value === durationValue);
  const durationMs = offered && durationValue ? parseSilenceDuration(durationValue) : 'invalid';
  if (typeof durationMs !== 'number') errors[INPUT_IDS.silenceDuration.block] = 'Choose how long the silence lasts.';

  const reasonText = v[INPUT_IDS.reason.block]?.[INPUT_IDS.reason.action]?.value ?? '';
  const reasonError = validateSilenceReason(reasonText);
  if (reasonError) errors[INPUT_IDS.reason.block] = `${reasonError[0]?.toUpperCase()}${reasonError.slice(1)}.`;

  if (Object.keys(errors).length > 0 || typeof durationMs !== 'number') return { ok: false, errors };
  return { ok: true, scope, durationMs, reason: reasonText.trim() };
}

// ---- Shared pieces of the list and the channel posts ----

/** A code span that nothing inside can end early: backticks become a look-alike, the rest is escaped. */
function code(raw: string, limit: number): string {
  return `\`${escapeAndFit(raw.replace(/`/g, 'ˋ'), limit)}\``;
}

/** A user mention when the id looks like one; otherwise the text, escaped. */
function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeAndFit(userId, 40);
}

/** The reason on one line (so it cannot pose as one of our own lines), escaped and fitted. */
function reasonText(reason: string, limit: number): string {
  return escapeAndFit(reason.replace(/\s+/g, ' ').trim(), limit);
}

function dateOf(d: Date): string {
  return slackDate(d.toISOString());
}

function hitsText(hits: number): string {
  return `${hits} hit${hits === 1 ? '' : 's'}`;
}

/** "`abcd1234` `Recon:EC2/*` in account 123456789012 on `i-0abc`": short id, pattern and scope. */
function what(s: SilenceRecord): string {
  const where = s.accountId ? `in account ${escapeAndFit(s.accountId, 40)}` : 'in every account';
  const on = s.resourceId ? ` on ${code(s.resourceId, 300)}` : '';
  return `${code(shortSilenceId(s.id), 40)} ${code(s.typePattern, 300)} ${where}${on}`;
}

// ---- /alert silences ----

export type SilenceListItem = SilenceRecord & { stale: boolean };

const STATUS_EMOJI: Record<SilenceStatus, string> = { active: ':mute:', expired: ':bell:', lifted: ':bell:' };

function silenceLines(s: SilenceListItem, status: SilenceStatus, now: Date): string {
  const ending =
    status === 'active'
      ? `expires in ${humanDuration(s.expiresAt.getTime() - now.getTime())} (${dateOf(s.expiresAt)})`
      : status === 'lifted'
        ? `lifted${s.liftedById ? ` by ${mention(s.liftedById)}` : ''} ${s.liftedAt ? dateOf(s.liftedAt) : ''}`.trimEnd()
        : `expired ${dateOf(s.expiresAt)}`;
  const hits = s.lastHitAt ? `${hitsText(s.hits)}, last ${dateOf(s.lastHitAt)}` : hitsText(s.hits);
  return [
    `${STATUS_EMOJI[status]} ${what(s)}`,
    `by ${mention(s.createdById)} ${dateOf(s.createdAt)} · ${hits} · ${ending}`,
    `Reason: ${reasonText(s.reason, 1500)}`,
    // Stale only matters while the silence still mutes something.
    ...(status === 'active' && s.stale ? [':warning: matched nothing for 7 days'] : []),
  ].join('\n');
}

function liftButton(s: SilenceListItem): Block {
  return {
    type: 'button',
    action_id: ACTION_IDS.liftSilence,
    text: { type: 'plain_text', text: 'Lift' },
    style: 'danger',
    value: s.id,
    confirm: {
      title: { type: 'plain_text', text: 'Lift this silence?' },
      text: plain(
        `New alerts matching ${s.typePattern}${s.accountId ? ` in account ${s.accountId}` : ''} will get cards again.`,
        CONFIRM_TEXT_MAX,
      ),
      confirm: { type: 'plain_text', text: 'Lift' },
      deny: { type: 'plain_text', text: 'Keep it' },
      style: 'danger',
    },
  };
}

/**
 * The `/alert silences` reply, in the order given: a heading, one section per
 * silence (at most 40) and an "and N more" line. A Lift button appears only on
 * silences that are still active and that `canLift` allows.
 */
export function silenceListBlocks(
  silences: SilenceListItem[],
  now: Date,
  opts: { canLift: (s: SilenceListItem) => boolean },
): Block[] {
  const heading = silences.length === 0 ? 'No silences.' : `*Silences* · ${silences.length}`;
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: heading } }];
  for (const s of silences.slice(0, SILENCE_LIST_MAX)) {
    const status = silenceStatus(s, now);
    const text = silenceLines(s, status, now);
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text },
      ...(status === 'active' && opts.canLift(s) ? { accessory: liftButton(s) } : {}),
    });
  }
  const more = silences.length - SILENCE_LIST_MAX;
  if (more > 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${more} more not shown.` }] });
  }
  return blocks;
}

// ---- Channel posts ----
// Each names the short id, the pattern and scope, and the creator; all but
// the creation post (where it is always 0) give the hits. Every piece is
// fitted (pattern 300, resource 300, reason 1500 characters once escaped), so
// a post stays under a message's 3000-character text (LIMITS.fallbackText)
// without cutting the mrkdwn afterwards, which could break a token.

export function silenceCreatedText(s: SilenceRecord): string {
  const lasts = humanDuration(s.expiresAt.getTime() - s.createdAt.getTime());
  return (
    `:mute: ${mention(s.createdById)} silenced ${what(s)} for ${lasts}, until ${dateOf(s.expiresAt)}. ` +
    `Reason: ${reasonText(s.reason, 1500)}\n` +
    'Matching alerts are stored but get no card; `/alert silences` lists them.'
  );
}

/** Sent a day before expiry (see noticePlan); the date token gives the exact time. */
export function silenceExpiringText(s: SilenceRecord): string {
  return (
    `:hourglass_flowing_sand: Silence ${what(s)} by ${mention(s.createdById)} expires in 1 day ` +
    `(${dateOf(s.expiresAt)}) · ${hitsText(s.hits)} so far. To keep muting, create a new silence.`
  );
}

export function silenceExpiredText(s: SilenceRecord): string {
  return (
    `:bell: Silence ${what(s)} by ${mention(s.createdById)} has expired after ${hitsText(s.hits)}. ` +
    'Matching alerts get cards again.'
  );
}

export function silenceLiftedText(s: SilenceRecord): string {
  const by = s.liftedById ? `${mention(s.liftedById)} lifted` : 'Lifted:';
  return (
    `:bell: ${by} silence ${what(s)} by ${mention(s.createdById)} after ${hitsText(s.hits)}. ` +
    'Matching alerts get cards again.'
  );
}

export function silenceStaleText(s: SilenceRecord): string {
  const last = s.lastHitAt ? `last hit ${dateOf(s.lastHitAt)}` : 'no hits since it was created';
  return (
    `:warning: Silence ${what(s)} by ${mention(s.createdById)} has matched nothing for 7 days ` +
    `(${hitsText(s.hits)}, ${last}). If it is no longer needed: \`/alert unsilence ${escapeAndFit(shortSilenceId(s.id), 40)}\``
  );
}
