/**
 * `/alert`: runs a parsed command with the same services the buttons use,
 * and says what to reply. Replies are ephemeral; anything taken from the
 * command text is escaped before it is shown.
 */
import { z } from 'zod';
import type { RoutingTable } from '../domain/routing';
import type { RunbookLibrary } from '../domain/runbooks';
import type { SeverityLabel } from '../domain/severity';
import { type AlertState, validateReason } from '../domain/triage';
import type { AccountDirectory } from '../ports/account-directory';
import type { AlertQueries, RouteStore } from '../ports/alert-queries';
import type { AlertReader } from '../ports/alert-reader';
import type { AlertForCard } from '../ports/card-store';
import type { Clock } from '../ports/clock';
import type { SecurityTeam } from '../ports/security-team';
import type { StatsStore } from '../ports/stats-store';
import type { Actor, SlackContext, TriageStore } from '../ports/triage-store';
import { alertListBlocks, PAGE_SIZE } from '../slack/blocks/alert-list';
import type { CardMessage } from '../slack/blocks/finding-card';
import { escapeMrkdwn } from '../slack/blocks/mrkdwn';
import { runbookModal } from '../slack/blocks/runbook-modal';
import { silenceCreatedText, silenceLiftedText, silenceListBlocks } from '../slack/blocks/silences';
import { statsBlocks, statsText } from '../slack/blocks/stats';
import { timelineText } from '../slack/blocks/timeline';
import type { AlertCommand, ListScope } from '../slack/commands/parse';
import type { SilenceService } from './silences';
import type { TriageOutcome, TriageService } from './triage';

export type Block = Record<string, unknown>;

export type CommandReply =
  | { kind: 'message'; text: string; blocks?: Block[] | undefined }
  /** Open the modal for this action (the command had no reason). */
  | { kind: 'modal'; action: 'archive' | 'escalate' | 'resolve'; alertId: string; title: string };

export interface CommandContext {
  actor: Actor;
  channelId: string;
  teamId?: string | undefined;
}

/** Escaped as a whole: the placeholders' < and > must not read as Slack links. */
export const USAGE = escapeMrkdwn(
  [
    '*Kanshi* — `/alert` commands (replies only you can see):',
    '• `/alert list [open|mine|all] [account <id>] [severity <level>]` — this channel’s alerts, newest first',
    '• `/alert show <alert id | finding id>` — an alert’s card and its timeline',
    '• `/alert ack <id>` · `/alert resolve <id> [note]` · `/alert escalate <id> [note]` · `/alert archive <id> [<category> <reason>]`',
    '• `/alert runbook <finding type>` — e.g. `/alert runbook Recon:EC2/Portscan`',
    '• `/alert stats [7d|30d|90d] [account <id>]` — counts and response times',
    '• `/alert review` — archives waiting for review (security engineers)',
    '• `/alert route <account id> <#channel>` — send an account’s alerts to a channel (security engineers)',
    '• `/alert silence <type pattern> [account <id>] [resource <id>] for <duration> reason <text>` — mute matching new alerts (at most 30 days)',
    '• `/alert silences [all]` — active silences (or all), with hits and expiry · `/alert unsilence <id>` — lift one',
  ].join('\n'),
);

/** What a list page button carries: the filter, nothing else. */
export const listPage = z.object({
  scope: z.enum(['open', 'mine', 'all']),
  accountId: z
    .string()
    .regex(/^\d{12}$/)
    .optional(),
  severity: z.enum(['critical', 'high', 'medium', 'low']).optional(),
  page: z.number().int().min(1).max(1000),
  channel: z.string().regex(/^[CGD][A-Z0-9]+$/),
});
export type ListPage = z.infer<typeof listPage>;

const STATES: Record<ListScope, AlertState[] | undefined> = {
  open: ['open', 'acknowledged', 'escalated', 'archive_requested'],
  mine: ['open', 'acknowledged', 'escalated', 'archive_requested'],
  all: undefined,
};

const message = (text: string, blocks?: Block[]): CommandReply => ({ kind: 'message', text, blocks });

export interface AlertCommandDeps {
  triage: TriageService;
  triageStore: TriageStore;
  alerts: AlertReader;
  queries: AlertQueries;
  routes: RouteStore;
  stats: StatsStore;
  security: SecurityTeam;
  runbooks: RunbookLibrary;
  routing: RoutingTable;
  /** Synced accounts: their OU paths route them too. */
  accounts: AccountDirectory;
  /** The card without its buttons. */
  render: (alert: AlertForCard) => CardMessage;
  silences: SilenceService;
  clock: Clock;
}

export class AlertCommands {
  constructor(private readonly d: AlertCommandDeps) {}

  async run(command: AlertCommand, c: CommandContext): Promise<CommandReply> {
    const ctx: SlackContext = { team: c.teamId, channel: c.channelId };
    switch (command.kind) {
      case 'help':
        return message(USAGE);
      case 'list':
        return this.list({ ...command, channel: c.channelId }, c.actor.id);
      case 'show':
        return this.show(command.ref);
      case 'runbook': {
        const g = this.d.runbooks.lookup(command.type);
        if (!g) return message(`No runbook for \`${escapeMrkdwn(command.type)}\`.`);
        const view = runbookModal(command.type, g) as { blocks: Block[] };
        // A message holds 50 blocks; the modal's are header, context and sections.
        return message(`Runbook for ${command.type}`, view.blocks.slice(0, 50));
      }
      case 'stats': {
        const until = this.d.clock.now();
        const since = new Date(until.getTime() - command.days * 86_400_000);
        const scope = command.accountId ? `account ${command.accountId}` : 'all accounts';
        const s = await this.d.stats.stats({
          since,
          until,
          accountIds: command.accountId ? [command.accountId] : undefined,
        });
        return message(statsText(s, scope), statsBlocks(s, scope));
      }
      case 'review':
        return this.review(c.actor.id);
      case 'route':
        return this.route(command.accountId, command.channelId, c.actor, ctx);
      case 'silence': {
        const made = await this.d.silences.create({
          matcher: { typePattern: command.typePattern, accountId: command.accountId, resourceId: command.resourceId },
          durationMs: command.durationMs,
          reason: command.reason,
          actor: c.actor,
          channelId: c.channelId,
        });
        return made.ok ? message(silenceCreatedText(made.value)) : message(`:no_entry: ${made.message}`);
      }
      case 'silences': {
        const list = await this.d.silences.list(command.includeEnded);
        if (list.length === 0) return message(command.includeEnded ? 'No silences yet.' : 'No active silences.');
        const engineer = await this.d.security.isSecurityEngineer(c.actor.id);
        const blocks = silenceListBlocks(list, this.d.clock.now(), {
          canLift: (s) => engineer || s.createdById === c.actor.id,
        });
        return message(`${list.length} silence(s)`, blocks as Block[]);
      }
      case 'unsilence':
        return this.unsilence(command.id, c.actor);
      default:
        return this.act(command, c.actor, ctx);
    }
  }

  async list(p: ListPage, userId: string): Promise<CommandReply> {
    let accountIds: string[] | undefined;
    let where = 'all accounts';
    if (p.accountId) {
      accountIds = [p.accountId];
      where = `account ${p.accountId}`;
    } else if (p.scope !== 'mine') {
      const mapped = this.d.routing.accountsForChannel(
        p.channel,
        await this.d.queries.routeOverrides(),
        this.d.accounts.all(),
      );
      if (mapped.length > 0) {
        accountIds = mapped;
        where = `this channel’s account${mapped.length > 1 ? 's' : ''}`;
      }
    }
    const severity = p.severity ? ((p.severity[0]?.toUpperCase() + p.severity.slice(1)) as SeverityLabel) : undefined;
    const { items, total } = await this.d.queries.list({
      accountIds,
      states: STATES[p.scope],
      userId: p.scope === 'mine' ? userId : undefined,
      severity,
      limit: PAGE_SIZE,
      offset: (p.page - 1) * PAGE_SIZE,
    });
    const title = `${p.scope === 'mine' ? 'Your alerts' : p.scope === 'open' ? 'Open alerts' : 'All alerts'} · ${where}${severity ? ` · ${severity}` : ''}`;
    const page = (n: number) => JSON.stringify({ ...p, page: n });
    const blocks = alertListBlocks(title, items, {
      number: p.page,
      total,
      previous: p.page > 1 ? page(p.page - 1) : undefined,
      next: p.page * PAGE_SIZE < total ? page(p.page + 1) : undefined,
    });
    return message(`${title}: ${total} alert(s)`, blocks);
  }

  private async show(ref: string): Promise<CommandReply> {
    const alert = await this.d.alerts.findByRef(ref);
    if (!alert) return message(`No alert or finding with id \`${escapeMrkdwn(ref)}\`.`);
    const card = this.d.render(alert);
    const trail = (await this.d.triageStore.trail(alert.id)).filter((e) => e.outcome === 'applied');
    const timeline = trail.map((e) => timelineText(e, alert.triage.createdAt)).join('\n');
    const blocks: Block[] = [
      ...(card.blocks as Block[]),
      { type: 'divider' },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*Timeline*\n${timeline || 'Nothing has happened yet.'}`.slice(0, 3000) },
      },
    ];
    return message(card.text, blocks.slice(0, 50));
  }

  private async review(userId: string): Promise<CommandReply> {
    if (!(await this.d.security.isSecurityEngineer(userId))) return message('Only security engineers review archives.');
    const items = await this.d.queries.reviewQueue(PAGE_SIZE);
    return message(
      `${items.length} archive(s) waiting for review`,
      alertListBlocks('Archives waiting for review', items, { number: 1, total: items.length }),
    );
  }

  async unsilence(ref: string, actor: Actor): Promise<CommandReply> {
    const lifted = await this.d.silences.lift(ref, actor);
    return message(lifted.ok ? silenceLiftedText(lifted.value) : `:no_entry: ${lifted.message}`);
  }

  async route(accountId: string, channelId: string, actor: Actor, ctx: SlackContext): Promise<CommandReply> {
    if (!(await this.d.security.isSecurityEngineer(actor.id))) {
      await this.d.routes.recordRefusedRoute(accountId, channelId, actor, ctx);
      return message('Only security engineers can change routing. Your attempt was recorded.');
    }
    const { from } = await this.d.routes.setRoute(accountId, channelId, actor, ctx);
    const before = from ?? this.d.routing.route(accountId, this.d.accounts.get(accountId)?.ouPath).channelId;
    return message(`New alerts of account ${accountId} now go to <#${channelId}> (before: <#${before}>).`);
  }

  private async act(
    command: Extract<AlertCommand, { kind: 'ack' | 'resolve' | 'escalate' | 'archive' }>,
    actor: Actor,
    ctx: SlackContext,
  ): Promise<CommandReply> {
    const alert = await this.d.alerts.findByRef(command.ref);
    if (!alert) return message(`No alert or finding with id \`${escapeMrkdwn(command.ref)}\`.`);
    const cmd = { alertId: alert.id, actor, ctx };
    let outcome: TriageOutcome;
    switch (command.kind) {
      case 'ack':
        outcome = await this.d.triage.acknowledge(cmd);
        break;
      case 'resolve': {
        if (!command.note) return this.modal('resolve', alert, actor, ctx);
        const bad = validateReason(command.note);
        if (bad) return message(bad);
        outcome = await this.d.triage.resolve({ ...cmd, note: command.note });
        break;
      }
      case 'escalate':
        if (command.note === undefined) return this.modal('escalate', alert, actor, ctx);
        outcome = await this.d.triage.escalate({ ...cmd, note: command.note });
        break;
      case 'archive': {
        if (!command.category) return this.modal('archive', alert, actor, ctx);
        const bad = validateReason(command.reason ?? '');
        if (bad) return message(bad);
        outcome = await this.d.triage.archive({ ...cmd, category: command.category, reason: command.reason ?? '' });
        break;
      }
    }
    return outcome.kind === 'done'
      ? message(`Done: the alert is now ${outcome.state.replace('_', ' ')}.`)
      : message(outcome.message);
  }

  private async modal(
    action: 'archive' | 'escalate' | 'resolve',
    alert: AlertForCard,
    actor: Actor,
    ctx: SlackContext,
  ): Promise<CommandReply> {
    const ready = await this.d.triage.prepare(alert.id, action, actor, ctx);
    return ready.ok ? { kind: 'modal', action, alertId: alert.id, title: ready.title } : message(ready.message);
  }
}
