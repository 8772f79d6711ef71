/** GuardDuty and STS behind aws-sdk-client-mock, answering like a healthy administrator account. */
import {
  ArchiveFindingsCommand,
  GuardDutyClient,
  ListDetectorsCommand,
  UnarchiveFindingsCommand,
} from '@aws-sdk/client-guardduty';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

export const ADMIN_ROLE_ARN = 'arn:aws:iam::111122223333:role/KanshiGuardDutyAdmin';
export const ADMIN_DETECTOR = 'admin-detector-1';

// Clients are created per region by the app; mocking the classes covers them all.
export const gd = mockClient(GuardDutyClient);
export const sts = mockClient(STSClient);

export function mockHealthyAws(): void {
  gd.reset();
  sts.reset();
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIATEST',
      SecretAccessKey: 'secret',
      SessionToken: 'token',
      Expiration: new Date(Date.now() + 3_600_000),
    },
  });
  gd.on(ListDetectorsCommand).resolves({ DetectorIds: [ADMIN_DETECTOR] });
  gd.on(ArchiveFindingsCommand).resolves({});
  gd.on(UnarchiveFindingsCommand).resolves({});
}
