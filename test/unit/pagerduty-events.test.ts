import { PagerDutyEventsV2 } from '../../app/adapters/pagerduty/events-v2';
import type { Logger } from '../../app/ports/logger';
import type { PageEvent, PageResult } from '../../app/ports/pager';
import { FakePagerDuty } from '../fakes/fake-pagerduty';

const ROUTING_KEY = 'R0UT1NGK3Y0000000000000000000abc';
const ALERT_ID = 'alert-7f3c2a';

const trigger: PageEvent = {
  action: 'trigger',
  dedupKey: ALERT_ID,
  summary: 'High: UnauthorizedAccess:EC2/SSHBruteForce on i-0abc in 123456789012',
  severity: 'critical',
  source: 'guardduty/eu-west-1',
  links: [{ href: 'https://slack.example/archives/C1/p1', text: 'Finding card' }],
  customDetails: { account: '123456789012', region: 'eu-west-1', severity: 8.5, archived: false },
};

interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

function capturingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger: Logger = {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    child: () => logger,
  };
  return logger;
}

describe('PagerDutyEventsV2 against a fake Events API', () => {
  const fake = new FakePagerDuty();

  beforeAll(async () => {
    await fake.start();
  });

  afterEach(() => {
    fake.reset();
  });

  afterAll(async () => {
    await fake.stop();
  });

  function pager(timeoutMs = 2000, logger?: Logger): PagerDutyEventsV2 {
    return new PagerDutyEventsV2({ routingKey: ROUTING_KEY, url: fake.url, timeoutMs, ...(logger ? { logger } : {}) });
  }

  it('sends a trigger as exactly the Events v2 shape, keyed by the alert id, with the summary cut to 1024 characters', async () => {
    const summary = `${'x'.repeat(1000)}${'y'.repeat(100)}`;
    const result = await pager().send({ ...trigger, summary });

    expect(result).toEqual({ ok: true, status: 202 });
    expect(fake.events).toHaveLength(1);
    expect(fake.events[0]?.body).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: ALERT_ID,
      payload: {
        summary: `${'x'.repeat(1000)}${'y'.repeat(24)}`,
        source: 'guardduty/eu-west-1',
        severity: 'critical',
        custom_details: { account: '123456789012', region: 'eu-west-1', severity: 8.5, archived: false },
      },
      links: [{ href: 'https://slack.example/archives/C1/p1', text: 'Finding card' }],
      client: 'Kanshi',
    });
  });

  it('defaults the source to kanshi and the severity to error when the event leaves them out', async () => {
    const result = await pager().send({ action: 'trigger', dedupKey: ALERT_ID, summary: 'short' });

    expect(result).toEqual({ ok: true, status: 202 });
    expect(fake.events[0]?.body).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: ALERT_ID,
      payload: { summary: 'short', source: 'kanshi', severity: 'error' },
      client: 'Kanshi',
    });
  });

  it('sends a resolve with only the routing key, the action and the dedup key, and no payload', async () => {
    const result = await pager().send({ ...trigger, action: 'resolve' });

    expect(result).toEqual({ ok: true, status: 202 });
    expect(fake.events[0]?.body).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: ALERT_ID });
  });

  it('reports a 202 from PagerDuty as ok with the status', async () => {
    await expect(pager().send(trigger)).resolves.toEqual({ ok: true, status: 202 });
    expect(fake.events[0]?.status).toBe(202);
  });

  it('treats a 429 with Retry-After: 7 as retryable after 7000 ms, without retrying by itself', async () => {
    fake.failNext(429, { retryAfter: 7 });

    const result = await pager().send(trigger);

    expect(result).toMatchObject({ ok: false, retryable: true, status: 429, retryAfterMs: 7000 });
    expect(fake.events).toHaveLength(1);
  });

  it('treats a 429 without Retry-After as retryable with no retry delay', async () => {
    fake.failNext(429);

    const result = await pager().send(trigger);

    expect(result).toMatchObject({ ok: false, retryable: true, status: 429 });
    expect(result).not.toHaveProperty('retryAfterMs');
  });

  it('treats a 500 as retryable and sends the event only once', async () => {
    fake.failNext(500, { body: 'upstream exploded' });

    const result = await pager().send(trigger);

    expect(result).toEqual({ ok: false, retryable: true, status: 500, error: 'upstream exploded' });
    expect(fake.events).toHaveLength(1);
  });

  it("treats a 400 as permanent and carries PagerDuty's message and errors", async () => {
    fake.failNext(400, {
      body: { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is missing."] },
    });

    const result = await pager().send(trigger);

    expect(result).toEqual({
      ok: false,
      retryable: false,
      status: 400,
      error: "Event object is invalid: 'payload.summary' is missing.",
    });
  });

  it('cuts an error message from PagerDuty to 200 characters', async () => {
    fake.failNext(400, { body: { status: 'invalid event', message: 'm'.repeat(500) } });

    const result = await pager().send(trigger);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBe('m'.repeat(200));
  });

  it('treats other 4xx answers as permanent', async () => {
    fake.failNext(403, { body: { status: 'error', message: 'Forbidden' } });

    await expect(pager().send(trigger)).resolves.toEqual({
      ok: false,
      retryable: false,
      status: 403,
      error: 'Forbidden',
    });
  });

  it('gives up on a hung server with a retryable timeout within timeoutMs', async () => {
    fake.hang();
    const started = Date.now();

    const result = await pager(200).send(trigger);
    const elapsed = Date.now() - started;

    expect(result).toEqual({ ok: false, retryable: true, error: 'timeout' });
    expect(fake.events).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1000);
  });

  it('reports a refused connection as a retryable network error', async () => {
    const gone = new FakePagerDuty();
    await gone.start();
    const url = gone.url;
    await gone.stop();

    const result = await new PagerDutyEventsV2({ routingKey: ROUTING_KEY, url, timeoutMs: 2000 }).send(trigger);

    expect(result).toEqual({ ok: false, retryable: true, error: 'network' });
  });

  it('never puts the routing key in a result or a log line, even when PagerDuty echoes it back', async () => {
    const lines: LogLine[] = [];
    const p = pager(200, capturingLogger(lines));
    const results: PageResult[] = [];

    results.push(await p.send(trigger));
    fake.failNext(400, { body: { message: `Invalid routing key ${ROUTING_KEY}`, errors: [ROUTING_KEY] } });
    results.push(await p.send(trigger));
    fake.failNext(429, { retryAfter: 1, body: `slow down, ${ROUTING_KEY}` });
    results.push(await p.send(trigger));
    fake.failNext(503, { body: { message: ROUTING_KEY } });
    results.push(await p.send(trigger));
    fake.hang();
    results.push(await p.send(trigger));

    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, false]);
    expect(results[1]).toMatchObject({ retryable: false, status: 400 });
    expect(JSON.stringify(results)).not.toContain(ROUTING_KEY);
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(ROUTING_KEY);
  });
});

describe('FakePagerDuty validation', () => {
  const fake = new FakePagerDuty();

  beforeAll(async () => {
    await fake.start();
  });

  afterAll(async () => {
    await fake.stop();
  });

  async function post(body: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(fake.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  }

  it('rejects a trigger without a summary like PagerDuty does', async () => {
    const { status, json } = await post({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: { source: 'kanshi', severity: 'error' },
    });

    expect(status).toBe(400);
    expect(json).toEqual({
      status: 'invalid event',
      message: 'Event object is invalid',
      errors: ["'payload.summary' is missing or blank."],
    });
  });

  it('rejects a resolve without a dedup key', async () => {
    const { status, json } = await post({ routing_key: ROUTING_KEY, event_action: 'resolve' });

    expect(status).toBe(400);
    expect(json).toMatchObject({ errors: ["'dedup_key' is missing or blank."] });
  });

  it('answers a valid event with 202 and echoes its dedup key', async () => {
    const { status, json } = await post({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: ALERT_ID });

    expect(status).toBe(202);
    expect(json).toEqual({ status: 'success', message: 'Event processed', dedup_key: ALERT_ID });
  });
});
