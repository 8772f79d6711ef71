/**
 * Reads config/accounts.yml, the per-account routing file in the format
 * security teams already keep. Validation errors name the line at fault.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { AccountRoute } from '../domain/routing';

const accountEntry = z.looseObject({
  accountID: z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id (quote it so leading zeros survive)')),
  slackConfig: z.looseObject({
    channelID: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123456789'),
    channelName: z.string().optional(),
    enabled: z.boolean().default(true),
    webhookOverrides: z.array(z.unknown()).default([]),
  }),
});

export class AccountsFileError extends Error {
  readonly code = 'kanshi_accounts_file_invalid';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AccountsFileError';
  }
}

/** Parses the YAML text of an accounts file. `file` is only used in messages. */
export function parseAccountsFile(text: string, file: string): AccountRoute[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? '?' : String(lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    throw new AccountsFileError(
      file,
      doc.errors.map((e) => `line ${lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`),
    );
  }
  if (doc.contents === null) return [];
  if (!isSeq(doc.contents)) {
    throw new AccountsFileError(file, [`line ${lineOf(doc.contents.range?.[0])}: expected a list of accounts`]);
  }
  const problems: string[] = [];
  const routes: AccountRoute[] = [];
  const seen = new Map<string, number>();
  doc.contents.items.forEach((item, index) => {
    const itemLine = lineOf((item as { range?: readonly number[] }).range?.[0]);
    const parsed = accountEntry.safeParse(isMap(item) || isSeq(item) ? (item as { toJSON(): unknown }).toJSON() : item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const node = doc.getIn([index, ...issue.path], true) as { range?: readonly number[] } | undefined;
        const at = node?.range ? lineOf(node.range[0]) : itemLine;
        problems.push(`line ${at}: [${index}].${issue.path.join('.')} ${issue.message}`);
      }
      return;
    }
    const { accountID, slackConfig } = parsed.data;
    const earlier = seen.get(accountID);
    if (earlier !== undefined) {
      problems.push(`line ${itemLine}: account ${accountID} is listed twice (first at line ${earlier})`);
      return;
    }
    seen.set(accountID, Number(itemLine));
    routes.push({
      accountId: accountID,
      channelId: slackConfig.channelID,
      channelName: slackConfig.channelName,
      enabled: slackConfig.enabled,
    });
  });
  if (problems.length > 0) throw new AccountsFileError(file, problems);
  return routes;
}

export function loadAccountsFile(path: string): AccountRoute[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AccountsFileError(path, [`cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseAccountsFile(text, path);
}
