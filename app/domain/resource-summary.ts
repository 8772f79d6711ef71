/**
 * A short, per-resource-type summary of what a finding is about. Input is
 * GuardDuty's `resource` object, which varies by type and by source; every
 * read is defensive and unknown types fall back to a generic summary.
 */
import type { ResourceSummary } from './finding';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_VALUE = 300;

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v.length > 0) {
    // Cut by code point, so an emoji is never split into a lone surrogate.
    return v.length > MAX_VALUE ? `${Array.from(v).slice(0, MAX_VALUE).join('')}…` : v;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function get(root: unknown, ...path: string[]): unknown {
  let cur = root;
  for (const key of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function tagValue(tags: unknown, key: string): string | undefined {
  for (const t of list(tags)) {
    if (isObj(t) && (t.key === key || t.Key === key)) return str(t.value ?? t.Value);
  }
  return undefined;
}

function joinSome(values: string[], max = 3): string {
  if (values.length <= max) return values.join(', ');
  return `${values.slice(0, max).join(', ')} and ${values.length - max} more`;
}

type Details = ResourceSummary['details'];
function details(pairs: Array<[string, string | undefined]>): Details {
  return pairs.filter((p): p is [string, string] => p[1] !== undefined).map(([label, value]) => ({ label, value }));
}

function instance(r: Obj): ResourceSummary | undefined {
  const d = r.instanceDetails;
  const id = str(get(d, 'instanceId'));
  if (!id) return undefined;
  const name = tagValue(get(d, 'tags'), 'Name');
  const nic = list(get(d, 'networkInterfaces')).find(isObj);
  return {
    type: 'Instance',
    id,
    label: name ? `${id} (${name})` : id,
    details: details([
      ['Instance', id],
      ['Name', name],
      ['Type', str(get(d, 'instanceType'))],
      ['State', str(get(d, 'instanceState'))],
      ['Public IP', str(get(nic, 'publicIp'))],
      ['Private IP', str(get(nic, 'privateIpAddress'))],
      ['VPC', str(get(nic, 'vpcId'))],
    ]),
  };
}

function accessKey(r: Obj): ResourceSummary | undefined {
  const d = r.accessKeyDetails;
  const key = str(get(d, 'accessKeyId'));
  const user = str(get(d, 'userName'));
  if (!key && !user) return undefined;
  const userType = str(get(d, 'userType'));
  return {
    type: 'AccessKey',
    id: key ?? user ?? 'unknown',
    label: [key, user ? `(${userType ? `${userType} ` : ''}${user})` : undefined].filter(Boolean).join(' '),
    details: details([
      ['Access key', key],
      ['User', user],
      ['User type', userType],
      ['Principal', str(get(d, 'principalId'))],
    ]),
  };
}

function buckets(r: Obj, type: string): ResourceSummary | undefined {
  const bucketList = list(r.s3BucketDetails).filter(isObj);
  const names = bucketList.map((b) => str(b.name)).filter((n): n is string => n !== undefined);
  if (names.length === 0) return undefined;
  const objects = bucketList
    .flatMap((b) => list(b.s3ObjectDetails))
    .map((o) => str(get(o, 'key')))
    .filter((k): k is string => k !== undefined);
  const owner = str(get(r, 'accessKeyDetails', 'userName'));
  return {
    type,
    id: names[0] ?? 'unknown',
    label: objects.length > 0 ? `s3://${names[0]}/${objects[0]}` : joinSome(names),
    details: details([
      [names.length > 1 ? 'Buckets' : 'Bucket', joinSome(names, 5)],
      ['Objects', objects.length > 0 ? joinSome(objects) : undefined],
      ['Public access', str(get(bucketList[0], 'publicAccess', 'effectivePermission'))],
      ['Caller', owner],
    ]),
  };
}

function eks(r: Obj): ResourceSummary | undefined {
  const name = str(get(r, 'eksClusterDetails', 'name'));
  if (!name) return undefined;
  const workload = get(r, 'kubernetesDetails', 'kubernetesWorkloadDetails');
  const ns = str(get(workload, 'namespace'));
  const wl = str(get(workload, 'name'));
  return {
    type: 'EKSCluster',
    id: name,
    label: wl ? `${name}: ${ns ? `${ns}/` : ''}${wl}` : name,
    details: details([
      ['Cluster', name],
      ['Workload', wl ? `${ns ? `${ns}/` : ''}${wl}` : undefined],
      ['Kubernetes user', str(get(r, 'kubernetesDetails', 'kubernetesUserDetails', 'username'))],
      ['VPC', str(get(r, 'eksClusterDetails', 'vpcId'))],
    ]),
  };
}

function ecs(r: Obj): ResourceSummary | undefined {
  const d = r.ecsClusterDetails;
  const name = str(get(d, 'name')) ?? str(get(d, 'arn'));
  if (!name) return undefined;
  return {
    type: 'ECSCluster',
    id: name,
    label: name,
    details: details([
      ['Cluster', name],
      ['Task definition', str(get(d, 'taskDetails', 'definitionArn'))],
      ['Container', str(get(r, 'containerDetails', 'name'))],
    ]),
  };
}

function container(r: Obj): ResourceSummary | undefined {
  const d = r.containerDetails;
  const name = str(get(d, 'name')) ?? str(get(d, 'id'));
  if (!name) return undefined;
  return {
    type: 'Container',
    id: name,
    label: name,
    details: details([
      ['Container', name],
      ['Image', str(get(d, 'image'))],
    ]),
  };
}

function lambda(r: Obj): ResourceSummary | undefined {
  const d = r.lambdaDetails;
  const name = str(get(d, 'functionName')) ?? str(get(d, 'functionArn'));
  if (!name) return undefined;
  return {
    type: 'Lambda',
    id: name,
    label: name,
    details: details([
      ['Function', name],
      ['Runtime', str(get(d, 'runtime'))],
      ['Role', str(get(d, 'role'))],
    ]),
  };
}

function rds(r: Obj, type: string): ResourceSummary | undefined {
  const d = r.rdsDbInstanceDetails ?? r.rdsLimitlessDbDetails;
  const name =
    str(get(d, 'dbInstanceIdentifier')) ?? str(get(d, 'dbShardGroupIdentifier')) ?? str(get(d, 'dbClusterIdentifier'));
  if (!name) return undefined;
  return {
    type,
    id: name,
    label: name,
    details: details([
      ['Database', name],
      ['Engine', str(get(d, 'engine'))],
      ['DB user', str(get(r, 'rdsDbUserDetails', 'user'))],
    ]),
  };
}

/** For types we do not know: the first identifying value of any *Details object. */
function generic(r: Obj, type: string): ResourceSummary {
  for (const [key, value] of Object.entries(r)) {
    if (!key.endsWith('Details') || !isObj(value)) continue;
    for (const [field, v] of Object.entries(value)) {
      const s = str(v);
      if (s && /(id|name|arn|identifier)$/i.test(field)) {
        return { type, id: s, label: s, details: details([[field, s]]) };
      }
    }
  }
  return { type, id: type, label: type, details: [] };
}

const BY_TYPE: Record<string, (r: Obj, type: string) => ResourceSummary | undefined> = {
  Instance: instance,
  AccessKey: accessKey,
  S3Bucket: buckets,
  S3Object: buckets,
  EKSCluster: eks,
  ECSCluster: ecs,
  Container: container,
  Lambda: lambda,
  RDSDBInstance: rds,
  RDSLimitlessDB: rds,
};

export function summariseResource(resource: unknown): ResourceSummary {
  if (!isObj(resource)) return { type: 'Unknown', id: 'unknown', label: 'not given', details: [] };
  const type = str(resource.resourceType) ?? 'Unknown';
  // The type is the sender's text: only our own keys, never Object.prototype's (__proto__, constructor…).
  const summarise = Object.hasOwn(BY_TYPE, type) ? BY_TYPE[type] : undefined;
  return summarise?.(resource, type) ?? generic(resource, type);
}
