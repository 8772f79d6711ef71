import { Writable } from 'node:stream';
import { createLogger, lazyChild } from '../../app/logging';
import type { Logger } from '../../app/ports/logger';

/** A log destination that keeps each line. */
function capture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, sink };
}

describe('logs', () => {
  it('redact secrets by key wherever they appear', () => {
    const { lines, sink } = capture();
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

  it('make a lazy child only when it first logs, with its bindings', () => {
    const { lines, sink } = capture();
    const parent = createLogger('info', sink);
    let children = 0;
    const counting: Logger = {
      debug: (o, m) => parent.debug(o, m),
      info: (o, m) => parent.info(o, m),
      warn: (o, m) => parent.warn(o, m),
      error: (o, m) => parent.error(o, m),
      child: (b) => {
        children++;
        return parent.child(b);
      },
    };
    const log = lazyChild(counting, { requestId: 'r-1' });
    expect(children).toBe(0);
    log.warn({ n: 1 }, 'first');
    log.error({ n: 2 }, 'second');
    expect(children).toBe(1);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ requestId: 'r-1' });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: 'error', n: 2, msg: 'second' });
  });
});
