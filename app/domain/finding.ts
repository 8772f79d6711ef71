/** The normalised finding: what every later stage works with. Pure types. */
import type { SeverityLabel } from './severity';

export interface ResourceSummary {
  /** GuardDuty's resourceType, e.g. Instance, AccessKey, S3Bucket. */
  type: string;
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
  severityLabel: SeverityLabel;
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
