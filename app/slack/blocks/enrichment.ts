/** How the investigation shows: a short block on the card, the details in its thread. Pure. */
import type { Enrichment } from '../../domain/investigation';
import { ACTION_IDS } from '../ids';
import type { SlackBlock } from './finding-card';
import { escapeAndFit } from './mrkdwn';
import { button } from './status';

/** `canResolveGone`: the alert is still active, so "resolve: resource gone" is possible. */
export function enrichmentBlocks(alertId: string, e: Enrichment, canResolveGone: boolean): SlackBlock[] {
  const lines = e.summary.length > 0 ? e.summary : ['Nothing more found.'];
  const buttons = [
    button('Re-run investigation', ACTION_IDS.rerunInvestigation, alertId),
    ...(e.resourceGone && canResolveGone
      ? [button('Resolve: resource gone', ACTION_IDS.resolveGone, alertId, 'primary')]
      : []),
  ];
  return [
    {
      type: 'context',
      block_id: 'kanshi_card_enrichment',
      elements: [
        { type: 'mrkdwn', text: `:mag: ${lines.map((l) => escapeAndFit(l, 400)).join(' · ')}`.slice(0, 2000) },
      ],
    },
    { type: 'actions', block_id: 'kanshi_card_investigation', elements: buttons },
  ];
}

export function enrichmentThreadText(e: Enrichment): string {
  const parts = e.sections.map(
    (s) => `*${escapeAndFit(s.title, 80)}*\n${s.lines.map((l) => `• ${escapeAndFit(l, 400)}`).join('\n')}`,
  );
  if (e.unavailable.length > 0) {
    parts.push(`*Enrichment unavailable*\n${e.unavailable.map((u) => `• ${escapeAndFit(u, 300)}`).join('\n')}`);
  }
  // Whole sections only, and a readable length (Slack allows far more).
  let text = ':mag: *Investigation*';
  for (const part of parts.length > 0 ? parts : ['Nothing more found.']) {
    // Room for the closing '\n\n…' too.
    if (text.length + part.length + 2 > 3800 - 3) {
      text += '\n\n…';
      break;
    }
    text += `\n\n${part}`;
  }
  return text;
}
