/**
 * Text that goes to Slack. Every finding field is attacker-influenced (domain
 * names, user agents, bucket names, instance tags), so anything we did not
 * write is escaped before it reaches Slack: `&`, `<` and `>` are the only
 * characters Slack's mrkdwn treats as control characters
 * (https://api.slack.com/reference/surfaces/formatting#escaping).
 */

/** Slack's documented limits, in one place (https://api.slack.com/reference/block-kit/blocks). */
export const LIMITS = {
  blocksPerMessage: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  contextText: 2000,
  /** The message-level `text` is the notification fallback; keep it short. */
  fallbackText: 3000,
} as const;

const ELLIPSIS = '…';

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes `raw` and truncates it so the escaped result is at most `limit`
 * characters (UTF-16 units, as Slack counts), never splitting an entity such
 * as `&amp;` or a surrogate pair, and marking a cut with an ellipsis.
 */
export function escapeAndFit(raw: string, limit: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= limit) return escaped;
  return fitPieces(Array.from(raw, escapeMrkdwn), limit);
}

/** Truncates plain text (no escaping: plain_text objects are not parsed). */
export function fitPlain(raw: string, limit: number): string {
  if (raw.length <= limit) return raw;
  return fitPieces(Array.from(raw), limit);
}

function fitPieces(pieces: string[], limit: number): string {
  const budget = limit - ELLIPSIS.length;
  let out = '';
  for (const piece of pieces) {
    if (out.length + piece.length > budget) break;
    out += piece;
  }
  return out + ELLIPSIS;
}

/** A link we build ourselves: the URL is escaped too (Slack decodes &amp; in links). */
export function link(url: string, label: string): string {
  return `<${escapeMrkdwn(url)}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`;
}

/** Slack renders <!date^…> in each reader's own time zone, with a fallback. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return escapeAndFit(iso, 64);
  const fallback = new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 16);
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback} UTC>`;
}
