/**
 * Runbook Markdown → Slack mrkdwn, cut into section-sized pieces. Headings
 * become bold lines, lists get bullets, links become <url|text>, code fences
 * stay fences; every other `&`, `<` and `>` is escaped. Pure.
 */
import { escapeMrkdwn, link } from './mrkdwn';

function inline(text: string): string {
  // Split out inline code first: nothing inside it is formatting.
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => {
      if (i % 2 === 1) return escapeMrkdwn(part);
      const links: string[] = [];
      const withMarkers = part.replace(/\[([^\]]+)\]\((https:\/\/[^)\s]+)\)/g, (_m, text: string, url: string) => {
        links.push(link(url, text));
        return `\uE000${links.length - 1}\uE000`;
      });
      return escapeMrkdwn(withMarkers)
        .replace(/\*\*([^*]+)\*\*/g, '*$1*')
        .replace(/\uE000(\d+)\uE000/g, (_m, n: string) => links[Number(n)] ?? '');
    })
    .join('');
}

/** Converts Markdown to mrkdwn lines. */
export function markdownToMrkdwn(markdown: string): string[] {
  const out: string[] = [];
  let inCode = false;
  for (const raw of markdown.replace(/\r\n/g, '\n').split('\n')) {
    if (/^\s*```/.test(raw)) {
      inCode = !inCode;
      out.push('```');
      continue;
    }
    if (inCode) {
      out.push(escapeMrkdwn(raw));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(raw);
    if (heading) {
      out.push(`*${inline(heading[2] ?? '').replace(/\*/g, '')}*`);
      continue;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(raw);
    if (bullet) {
      out.push(`${bullet[1] ? '    ' : ''}• ${inline(bullet[2] ?? '')}`);
      continue;
    }
    out.push(inline(raw));
  }
  return out;
}

/**
 * Groups lines into chunks of at most `limit` characters, at line boundaries.
 * A chunk that ends inside a code fence closes it, and the next reopens it.
 */
export function chunkLines(lines: string[], limit: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 0;
  let inCode = false;
  const flush = () => {
    if (current.length === 0) return;
    if (inCode) current.push('```');
    chunks.push(current.join('\n').trim());
    current = inCode ? ['```'] : [];
    size = inCode ? 4 : 0;
  };
  for (const line of lines) {
    // A single over-long line is cut (it can only be prose or a command).
    const piece = line.length > limit - 10 ? `${line.slice(0, limit - 11)}…` : line;
    if (size + piece.length + 1 > limit - 4) flush();
    current.push(piece);
    size += piece.length + 1;
    if (piece === '```') inCode = !inCode;
  }
  if (current.length > 0) chunks.push(current.join('\n').trim());
  return chunks.filter((c) => c.length > 0 && c !== '```');
}
