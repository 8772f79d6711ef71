/** The normalised finding: what every later stage works with. Pure types. */
import type { GuardDutySeverityLabel } from './severity';

export interface ResourceSummary {
  /** GuardDuty's resourceType, e.g. Instance, AccessKey, S3Bucket. */
  type: string;
  /**
   * A stable identifier (instance id, access key id, bucket name…), used by
   * silences and rule keys. Optional: findings stored before it existed lack it.
   */
  id?: string | undefined;
  /** One line a responder recognises: "i-0abc (web-1)", "AKIA… (alice)". */
  label: string;
  /** Labelled details for the card, in display order. */
  details: Array<{ label: string; value: string }>;
}

export interface Finding {
  source: 'aws.guardduty';
  id: string;
  arn?: string | undefined;
  type: string;
  severity: number;
  /** GuardDuty's own label; rules may change the alert's (see alert.severity_label). */
  severityLabel: GuardDutySeverityLabel;
  title: string;
  description: string;
  /** The member account that owns the resource (detail.accountId). */
  accountId: string;
  region: string;
  partition: string;
  detectorId?: string | undefined;
  resource: ResourceSummary;
  count: number;
  firstSeen?: string | undefined;
  lastSeen?: string | undefined;
  createdAt?: string | undefined;
  updatedAt: string;
  isSample: boolean;
  archived: boolean;
}

/** The EventBridge envelope, as far as we keep it. */
export interface EventEnvelope {
  id: string;
  source: string;
  detailType: string;
  /** The account that published the event: the GuardDuty administrator. */
  account: string;
  time: string;
  region: string;
}

/** The resource's stable identifier, falling back to its label for findings stored before ids. */
export function resourceIdOf(finding: Pick<Finding, 'resource'>): string {
  return finding.resource.id ?? finding.resource.label;
}
