import { parseOrganizationsEvent } from '../../app/domain/org-events';

// No aws.organizations samples exist under ../shared/fixtures, so these
// events follow the CloudTrail record shapes in the Organizations user guide
// ("Logging API calls with AWS CloudTrail"), wrapped in EventBridge envelopes.
const MANAGEMENT = '111122223333';

function envelope(detailType: string, detail: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '0',
    id: '5b0c8a4e-7d3f-4c1e-9a26-0f1e2d3c4b5a',
    'detail-type': detailType,
    source: 'aws.organizations',
    account: MANAGEMENT,
    time: '2025-04-02T10:15:42Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

function createAccountResult(status: Record<string, unknown>): Record<string, unknown> {
  return envelope('AWS Service Event via CloudTrail', {
    eventVersion: '1.08',
    userIdentity: { accountId: MANAGEMENT, invokedBy: 'AWS Internal' },
    eventTime: '2025-04-02T10:15:40Z',
    eventSource: 'organizations.amazonaws.com',
    eventName: 'CreateAccountResult',
    awsRegion: 'us-east-1',
    sourceIPAddress: 'AWS Internal',
    userAgent: 'AWS Internal',
    requestParameters: null,
    responseElements: null,
    eventID: 'c1d2e3f4-0a1b-4c2d-8e3f-a1b2c3d4e5f6',
    readOnly: false,
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: MANAGEMENT,
    serviceEventDetails: { createAccountStatus: status },
    eventCategory: 'Management',
  });
}

function apiCall(eventName: string, fields: Record<string, unknown>): Record<string, unknown> {
  return envelope('AWS API Call via CloudTrail', {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${MANAGEMENT}:assumed-role/platform-admin/jo`,
      accountId: MANAGEMENT,
    },
    eventTime: '2025-04-02T10:12:03Z',
    eventSource: 'organizations.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.15.0',
    requestID: '0f9e8d7c-6b5a-4e3d-2c1b-0a9f8e7d6c5b',
    eventID: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: MANAGEMENT,
    ...fields,
  });
}

const SUCCEEDED = {
  id: 'car-7e1f0c9a2b3d11f0a1b2c3d4e5f60718',
  state: 'SUCCEEDED',
  accountName: '****',
  accountId: '444455556666',
  requestedTimestamp: 'Apr 2, 2025 10:15:31 AM',
  completedTimestamp: 'Apr 2, 2025 10:15:40 AM',
};

describe('parseOrganizationsEvent: account creation', () => {
  it('reads a succeeded CreateAccountResult as the account created, leaving out the name CloudTrail redacts', () => {
    expect(parseOrganizationsEvent(createAccountResult(SUCCEEDED))).toEqual({
      kind: 'account_created',
      accountId: '444455556666',
      requestId: 'car-7e1f0c9a2b3d11f0a1b2c3d4e5f60718',
    });
  });

  it('keeps the account name when the record carries it in clear', () => {
    const event = createAccountResult({ ...SUCCEEDED, accountName: 'payments-prod' });

    expect(parseOrganizationsEvent(event)).toEqual({
      kind: 'account_created',
      accountId: '444455556666',
      accountName: 'payments-prod',
      requestId: 'car-7e1f0c9a2b3d11f0a1b2c3d4e5f60718',
    });
  });

  it('treats a failed CreateAccountResult as another event, since no account exists', () => {
    const { accountId: _dropped, ...failed } = SUCCEEDED;
    const event = createAccountResult({ ...failed, state: 'FAILED', failureReason: 'EMAIL_ALREADY_EXISTS' });

    expect(parseOrganizationsEvent(event)).toEqual({ kind: 'other', eventName: 'CreateAccountResult' });
  });

  it('reads serviceEventDetails that a pipeline flattened to JSON text', () => {
    const event = createAccountResult(SUCCEEDED);
    const detail = event.detail as Record<string, unknown>;
    detail.serviceEventDetails = JSON.stringify(detail.serviceEventDetails);

    expect(parseOrganizationsEvent(event)).toMatchObject({ kind: 'account_created', accountId: '444455556666' });
  });

  it('rejects a CreateAccountResult whose account id is not twelve digits, naming the field', () => {
    const event = createAccountResult({ ...SUCCEEDED, accountId: '4444-5555-6666' });

    expect(parseOrganizationsEvent(event)).toEqual({
      kind: 'invalid',
      error: 'detail.serviceEventDetails.createAccountStatus.accountId: must be a 12-digit AWS account id',
    });
  });

  it('rejects a CreateAccountResult without serviceEventDetails', () => {
    const event = createAccountResult(SUCCEEDED);
    delete (event.detail as Record<string, unknown>).serviceEventDetails;

    const parsed = parseOrganizationsEvent(event);

    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.error).toMatch(/^detail\.serviceEventDetails: /);
  });

  it('reads the CreateAccount call as a requested account, with its request id but no account id yet', () => {
    const event = apiCall('CreateAccount', {
      requestParameters: { tags: [], email: '****', accountName: '****' },
      responseElements: {
        createAccountStatus: {
          accountName: '****',
          state: 'IN_PROGRESS',
          id: 'car-0a1b2c3d4e5f60718293a4b5c6d7e8f9',
          requestedTimestamp: 'Apr 2, 2025 10:12:03 AM',
        },
      },
    });

    expect(parseOrganizationsEvent(event)).toEqual({
      kind: 'account_created',
      requestId: 'car-0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    });
  });

  it('treats a CreateAccount call that CloudTrail recorded with an error code as another event', () => {
    const event = apiCall('CreateAccount', {
      errorCode: 'ConstraintViolationException',
      errorMessage: 'You have exceeded the allowed number of AWS accounts.',
      requestParameters: { tags: [], email: '****', accountName: '****' },
      responseElements: null,
    });

    expect(parseOrganizationsEvent(event)).toEqual({ kind: 'other', eventName: 'CreateAccount' });
  });
});

describe('parseOrganizationsEvent: invitations', () => {
  function acceptHandshake(action: string, state: string): Record<string, unknown> {
    const event = apiCall('AcceptHandshake', {
      userIdentity: { type: 'Root', accountId: '777788889999' },
      recipientAccountId: '777788889999',
      requestParameters: { handshakeId: 'h-3c4d5e6f7a8b9c0d' },
      responseElements: {
        handshake: {
          id: 'h-3c4d5e6f7a8b9c0d',
          arn: 'arn:aws:organizations::111122223333:handshake/o-k2x9q1w8z3/invite/h-3c4d5e6f7a8b9c0d',
          action,
          state,
          parties: [
            { type: 'ORGANIZATION', id: 'k2x9q1w8z3' },
            { type: 'ACCOUNT', id: '777788889999' },
          ],
          requestedTimestamp: 'Apr 1, 2025 4:02:11 PM',
          expirationTimestamp: 'Apr 16, 2025 4:02:11 PM',
        },
      },
    });
    event.account = '777788889999';
    return event;
  }

  it('reads an accepted invitation as the invited account joining', () => {
    expect(parseOrganizationsEvent(acceptHandshake('invite', 'ACCEPTED'))).toEqual({
      kind: 'account_joined',
      accountId: '777788889999',
      handshakeId: 'h-3c4d5e6f7a8b9c0d',
    });
  });

  it('treats accepting any other handshake (enabling all features) as another event', () => {
    expect(parseOrganizationsEvent(acceptHandshake('ENABLE_ALL_FEATURES', 'ACCEPTED'))).toEqual({
      kind: 'other',
      eventName: 'AcceptHandshake',
    });
  });

  it('treats sending an invitation as another event, since nothing has joined yet', () => {
    const event = apiCall('InviteAccountToOrganization', {
      requestParameters: { target: { type: 'ACCOUNT', id: '777788889999' } },
      responseElements: {
        handshake: { id: 'h-3c4d5e6f7a8b9c0d', action: 'invite', state: 'OPEN', parties: [] },
      },
    });

    expect(parseOrganizationsEvent(event)).toEqual({ kind: 'other', eventName: 'InviteAccountToOrganization' });
  });
});

describe('parseOrganizationsEvent: everything else', () => {
  it('names other Organizations calls by their event name', () => {
    const event = apiCall('CreateOrganizationalUnit', {
      requestParameters: { name: 'Sandbox', parentId: 'r-ab12' },
      responseElements: { organizationalUnit: { id: 'ou-ab12-sand', name: 'Sandbox' } },
    });

    expect(parseOrganizationsEvent(event)).toEqual({ kind: 'other', eventName: 'CreateOrganizationalUnit' });
  });

  it('rejects an event from another source', () => {
    const event = { ...createAccountResult(SUCCEEDED), source: 'aws.guardduty' };

    expect(parseOrganizationsEvent(event)).toEqual({
      kind: 'invalid',
      error: 'source: must be aws.organizations, not aws.guardduty',
    });
  });

  it('rejects a CloudTrail event without an event name', () => {
    const event = createAccountResult(SUCCEEDED);
    delete (event.detail as Record<string, unknown>).eventName;

    const parsed = parseOrganizationsEvent(event);

    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.error).toMatch(/^detail\.eventName: /);
  });

  it('rejects bodies that are not one event object', () => {
    for (const body of [null, 'CreateAccountResult', [createAccountResult(SUCCEEDED)], 42]) {
      expect(parseOrganizationsEvent(body)).toEqual({
        kind: 'invalid',
        error: 'must be one EventBridge event (a JSON object)',
      });
    }
  });

  it('rejects an envelope without a detail object', () => {
    const { detail: _detail, ...bare } = createAccountResult(SUCCEEDED);

    const parsed = parseOrganizationsEvent(bare);

    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.error).toMatch(/^detail: /);
  });
});
