/** The Runbook modal: the guidance for a finding type, rendered within Slack's modal limits. Pure. */
import type { Guidance } from '../../domain/runbooks';
import { chunkLines, markdownToMrkdwn } from './markdown';
import { escapeAndFit, fitPlain, LIMITS, link } from './mrkdwn';

/** Slack allows 100 blocks in a modal; keep room for the header, context and note. */
const MAX_TEXT_BLOCKS = 90;

export function guidanceMarkdown(g: Guidance): string {
  if (g.kind === 'specific') return g.section.markdown;
  return g.runbook.intro;
}

export function guidanceLabel(g: Guidance): string {
  return g.kind === 'specific' ? 'for this finding type' : g.kind === 'family' ? 'for its family' : 'general guidance';
}

export function runbookModal(findingType: string, g: Guidance, baseUrl?: string): Record<string, unknown> {
  const chunks = chunkLines(markdownToMrkdwn(guidanceMarkdown(g)), LIMITS.sectionText);
  const shown = chunks.slice(0, MAX_TEXT_BLOCKS);
  const fileLink = baseUrl ? `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(g.runbook.file)}` : undefined;
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: fitPlain(findingType, LIMITS.headerText) } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: [
            `*${escapeAndFit(g.runbook.meta.title, 300)}* — ${guidanceLabel(g)}`,
            `owner ${escapeAndFit(g.runbook.meta.owner, 80)} · updated ${escapeAndFit(g.runbook.meta.updated, 20)}`,
            ...(fileLink ? [link(fileLink, `runbooks/${g.runbook.file}`)] : []),
          ].join(' · '),
        },
      ],
    },
    ...shown.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
  ];
  if (shown.length < chunks.length) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: fileLink
            ? `Shortened here: ${link(fileLink, 'read the whole runbook')}.`
            : 'Shortened here: see the runbook file.',
        },
      ],
    });
  }
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Runbook' },
    close: { type: 'plain_text', text: 'Close' },
    blocks,
  };
}
