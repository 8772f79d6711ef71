/**
 * Auto-investigation, the pure part: what to look up for a finding, and how
 * the facts read to a responder. All text here is raw; renderers escape it.
 */
import type { AccountFacts, GroupAttachment, InstanceFacts, Lookup, SecurityGroupFacts } from '../ports/investigator';

export interface Enrichment {
  /** One or two short lines for the card. */
  summary: string[];
  /** The details, for a reply in the card's thread. */
  sections: Array<{ title: string; lines: string[] }>;
  /** What could not be looked up, and why. */
  unavailable: string[];
  /** The instance the finding is about no longer exists. */
  resourceGone: boolean;
  at: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (root: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((cur, key) => (isObj(cur) ? cur[key] : undefined), root);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v.slice(0, 300) : undefined);

/** What the raw finding says about the resource, for the lookups. */
export interface Targets {
  instanceId?: string | undefined;
  securityGroupIds: string[];
  accessKey?:
    | {
        accessKeyId?: string | undefined;
        userName?: string | undefined;
        userType?: string | undefined;
        principalId?: string | undefined;
      }
    | undefined;
}

export function targetsOf(detail: unknown): Targets {
  const resource = get(detail, 'resource');
  // Only instance findings are about the instance: other findings (e.g. an
  // access key's) may carry instanceDetails too, but describing it would mislead.
  const instance = get(resource, 'resourceType') === 'Instance' ? get(resource, 'instanceDetails') : undefined;
  const groups = ((get(instance, 'networkInterfaces') as unknown[] | undefined) ?? [])
    .flatMap((n) => (get(n, 'securityGroups') as unknown[] | undefined) ?? [])
    .map((g) => str(get(g, 'groupId')))
    .filter((g): g is string => g !== undefined && /^sg-[0-9a-f]+$/.test(g));
  const instanceId = str(get(instance, 'instanceId'));
  const key = get(resource, 'accessKeyDetails');
  return {
    instanceId: instanceId && /^i-[0-9a-f]+$/.test(instanceId) ? instanceId : undefined,
    securityGroupIds: [...new Set(groups)],
    accessKey: isObj(key)
      ? {
          accessKeyId: str(key.accessKeyId),
          userName: str(key.userName),
          userType: str(key.userType),
          principalId: str(key.principalId),
        }
      : undefined,
  };
}

/** The API calls and callers a finding carries (service.action), read from the finding itself. */
export function actionLines(detail: unknown): string[] {
  const action = get(detail, 'service', 'action');
  const lines: string[] = [];
  const api = get(action, 'awsApiCallAction');
  if (isObj(api)) {
    const call = [str(api.serviceName), str(api.api)].filter(Boolean).join(' ');
    if (call) lines.push(`API call: ${call}${str(api.callerType) ? ` (caller: ${str(api.callerType)})` : ''}`);
    lines.push(...callerLines(get(api, 'remoteIpDetails')));
    const domain = str(get(api, 'domainDetails', 'domain'));
    if (domain) lines.push(`Called through: ${domain}`);
  }
  const net = get(action, 'networkConnectionAction');
  if (isObj(net)) {
    const dir = str(net.connectionDirection)?.toLowerCase() ?? 'network';
    const remotePort = get(net, 'remotePortDetails', 'port');
    const localPort = get(net, 'localPortDetails', 'port');
    lines.push(
      `Connection: ${dir} ${str(net.protocol) ?? ''} local port ${localPort ?? '?'} ↔ remote port ${remotePort ?? '?'}`.replace(
        /\s+/g,
        ' ',
      ),
    );
    lines.push(...callerLines(get(net, 'remoteIpDetails')));
  }
  const dns = str(get(action, 'dnsRequestAction', 'domain'));
  if (dns) lines.push(`DNS lookup: ${dns}`);
  const probes = get(action, 'portProbeAction', 'portProbeDetails');
  if (Array.isArray(probes)) {
    for (const p of probes.slice(0, 5)) {
      lines.push(`Probed port ${get(p, 'localPortDetails', 'port') ?? '?'}`, ...callerLines(get(p, 'remoteIpDetails')));
    }
  }
  return lines.slice(0, 20);
}

function callerLines(remote: unknown): string[] {
  if (!isObj(remote)) return [];
  const ip = str(remote.ipAddressV4) ?? str(remote.ipAddressV6);
  if (!ip) return [];
  const org = get(remote, 'organization');
  const asn = get(org, 'asn');
  // GuardDuty writes -1 for an unknown ASN.
  const knownAsn = asn !== undefined && String(asn) !== '-1';
  const who = [str(get(org, 'asnOrg')) ?? str(get(org, 'org')), knownAsn ? `AS${String(asn)}` : undefined]
    .filter(Boolean)
    .join(', ');
  const where = [str(get(remote, 'city', 'cityName')), str(get(remote, 'country', 'countryName'))]
    .filter(Boolean)
    .join(', ');
  return [`Caller IP: ${ip}${who ? ` · ${who}` : ''}${where ? ` · ${where}` : ''}`];
}

const CALLED_OUT_TAGS = ['owner', 'team', 'env', 'environment'];

function ago(iso: string | undefined, now: Date): string {
  if (!iso) return 'unknown';
  const days = Math.floor((now.getTime() - Date.parse(iso)) / 86_400_000);
  return days >= 1 ? `${days} d ago` : 'today';
}

export interface Facts {
  account?: Lookup<AccountFacts> | undefined;
  instance?: Lookup<InstanceFacts> | undefined;
  groups?: Lookup<SecurityGroupFacts[]> | undefined;
  attachments?: Lookup<GroupAttachment[]> | undefined;
}

/** Turns what was looked up into the card summary and the thread details. */
export function summarise(findingDetail: unknown, targets: Targets, facts: Facts, now: Date): Enrichment {
  const summary: string[] = [];
  const sections: Enrichment['sections'] = [];
  const unavailable: string[] = [];
  let resourceGone = false;
  const note = (what: string, l: Lookup<unknown> | undefined) => {
    if (l && !l.ok) unavailable.push(`${what}: ${l.reason}`);
  };

  if (facts.account?.ok) {
    const a = facts.account.value;
    sections.push({
      title: 'Account',
      lines: [
        `${a.accountId}${a.name ? ` · ${a.name}` : ''}`,
        ...(a.email ? [`Email: ${a.email}`] : []),
        ...(a.status ? [`Status: ${a.status}`] : []),
      ],
    });
    if (a.name) summary.push(`Account: ${a.name}`);
  }
  note('account', facts.account);

  if (facts.instance?.ok) {
    const i = facts.instance.value;
    if (!i.exists) {
      resourceGone = true;
      summary.push(`Instance ${i.instanceId} no longer exists${i.state ? ` (${i.state})` : ''}`);
      sections.push({
        title: 'Instance',
        lines: [`${i.instanceId} no longer exists${i.state ? ` (${i.state})` : ''}.`],
      });
    } else {
      // Tag keys are matched case-insensitively: Owner, owner and OWNER are all called out.
      const called = Object.entries(i.tags)
        .filter(([k]) => CALLED_OUT_TAGS.includes(k.toLowerCase()))
        .map(([k, v]) => `${k}: ${v}`);
      summary.push(
        [
          `Instance ${i.name ? `${i.name} ` : ''}(${i.state ?? 'unknown'}, launched ${ago(i.launchTime, now)})`,
          ...called,
        ].join(' · '),
      );
      sections.push({
        title: 'Instance',
        lines: [
          `${i.instanceId}${i.name ? ` · ${i.name}` : ''} · ${i.state ?? 'unknown'} · launched ${i.launchTime ?? 'unknown'}`,
          ...(called.length ? [`Tags: ${called.join(', ')}`] : []),
          `Instance profile: ${i.instanceProfileArn ?? 'none'}`,
          `Public IPs: ${i.publicIps.join(', ') || 'none'} · private IPs: ${i.privateIps.join(', ') || 'none'}`,
          `VPC ${i.vpcId ?? '?'} · subnet ${i.subnetId ?? '?'} · security groups ${i.securityGroupIds.join(', ') || 'none'}`,
        ],
      });
    }
  }
  note('instance', facts.instance);

  if (facts.groups?.ok) {
    const open = facts.groups.value.flatMap((g) => g.worldOpen.map((r) => ({ g, r })));
    const broad = facts.groups.value.flatMap((g) => g.broad.map((r) => ({ g, r })));
    if (open.length > 0) summary.push(`${open.length} ingress rule(s) open to the world`);
    if (broad.length > 0) summary.push(`${broad.length} suspiciously broad ingress rule(s)`);
    const rule = ({ g, r }: { g: SecurityGroupFacts; r: { protocol: string; ports: string; cidr: string } }) =>
      `${g.groupId}${g.groupName ? ` (${g.groupName})` : ''}: ${r.protocol} ${r.ports} from ${r.cidr}`;
    sections.push({
      title: 'Security groups',
      lines: [
        ...(open.length ? ['Open to the world:', ...open.map(rule)] : ['No ingress open to the world.']),
        ...(broad.length ? ['Suspiciously broad (prefix /0–/8: a typo for /32?):', ...broad.map(rule)] : []),
      ],
    });
  }
  note('security groups', facts.groups);

  if (facts.attachments?.ok && facts.attachments.value.length > 0) {
    sections.push({
      title: 'Attached to those groups',
      lines: facts.attachments.value.map(
        (a) =>
          `${a.groupId}: instances ${a.instanceIds.join(', ') || 'none'} · public IPs ${a.publicIps.join(', ') || 'none'}`,
      ),
    });
  }
  note('group attachments', facts.attachments);

  if (targets.accessKey) {
    const k = targets.accessKey;
    const root = k.userType === 'Root';
    summary.push(
      `${root ? 'Root account credentials' : `${k.userType ?? 'Principal'} ${k.userName ?? '?'}`} · key ${k.accessKeyId ?? '?'}`,
    );
    sections.push({
      title: 'Identity',
      lines: [
        `Access key: ${k.accessKeyId ?? 'unknown'}`,
        `${k.userType ?? 'Principal'}: ${k.userName ?? 'unknown'}${root ? ' (the root user!)' : ''}`,
        ...(k.principalId ? [`Principal id: ${k.principalId}`] : []),
      ],
    });
  }
  const action = actionLines(findingDetail);
  if (action.length > 0) sections.push({ title: 'Activity', lines: action });

  // The card shows four lines at most; a failure notice is always one of them.
  const shown =
    unavailable.length > 0
      ? [...summary.slice(0, 3), `enrichment unavailable: ${unavailable.join('; ')}`]
      : summary.slice(0, 4);
  return { summary: shown, sections, unavailable, resourceGone, at: now.toISOString() };
}
