import { Writable } from 'node:stream';
import { createLogger } from '../../app/logging';

describe('logs', () => {
  it('redact secrets by key wherever they appear', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info(
      {
        token: 'xoxb-secret-1',
        headers: { authorization: 'Bearer secret-2', 'x-api-key': 'secret-3' },
        pd: { routing_key: 'secret-4', routingKey: 'secret-5' },
        creds: { secretAccessKey: 'secret-6', sessionToken: 'secret-7' },
        alertId: 'kept',
      },
      'hello',
    );
    const out = lines.join('');
    for (const secret of ['xoxb-secret-1', 'secret-2', 'secret-3', 'secret-4', 'secret-5', 'secret-6', 'secret-7']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('"alertId":"kept"');
    expect(out).toContain('[redacted]');
  });
});
