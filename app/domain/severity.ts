/**
 * GuardDuty severity: a number from 1.0 to 10.0 with documented bands.
 * Critical 9.0–10.0, High 7.0–8.9, Medium 4.0–6.9, Low 1.0–3.9.
 * Info is ours: a rule can lower an alert to "no action needed" (never nudged).
 */
export type GuardDutySeverityLabel = 'Critical' | 'High' | 'Medium' | 'Low';
export type SeverityLabel = GuardDutySeverityLabel | 'Info';

export const SEVERITY_LABELS: readonly SeverityLabel[] = ['Critical', 'High', 'Medium', 'Low', 'Info'];

export function severityLabel(score: number, findingType: string): GuardDutySeverityLabel {
  // Attack sequences are always Critical, whatever number they carry.
  if (findingType.startsWith('AttackSequence:')) return 'Critical';
  if (score >= 9) return 'Critical';
  if (score >= 7) return 'High';
  if (score >= 4) return 'Medium';
  return 'Low';
}

export const SEVERITY_EMOJI: Record<SeverityLabel, string> = {
  Critical: ':red_circle:',
  High: ':large_orange_circle:',
  Medium: ':large_yellow_circle:',
  Low: ':large_blue_circle:',
  Info: ':white_circle:',
};

/** Rules speak lowercase levels; alerts store capitalised labels. */
export function labelOfLevel(level: 'critical' | 'high' | 'medium' | 'low' | 'info'): SeverityLabel {
  return `${level[0]?.toUpperCase()}${level.slice(1)}` as SeverityLabel;
}
