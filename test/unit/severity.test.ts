import { severityLabel } from '../../app/domain/severity';

describe('severity labels', () => {
  it.each([
    [10, 'Critical'],
    [9, 'Critical'],
    [8.9, 'High'],
    [7, 'High'],
    [6.9, 'Medium'],
    [4, 'Medium'],
    [3.9, 'Low'],
    [1, 'Low'],
    [0, 'Low'],
  ])('labels %d as %s, following GuardDuty bands', (score, label) => {
    expect(severityLabel(score, 'Recon:EC2/Portscan')).toBe(label);
  });

  it('labels attack sequences Critical whatever their number', () => {
    expect(severityLabel(5, 'AttackSequence:IAM/CompromisedCredentials')).toBe('Critical');
  });
});
