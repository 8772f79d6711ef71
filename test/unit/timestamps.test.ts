import { parseTimestamp } from '../../app/domain/timestamps';

describe('finding timestamps', () => {
  it('reads GuardDuty’s own form as it is', () => {
    expect(parseTimestamp('2026-11-22T21:15:29.579Z')).toBe('2026-11-22T21:15:29.579Z');
  });

  it('reads the other real shapes as UTC, to the millisecond', () => {
    expect(parseTimestamp('2020-05-04 12:34:56.123456789')).toBe('2020-05-04T12:34:56.123Z');
    expect(parseTimestamp('2020-05-04T12:34:56Z')).toBe('2020-05-04T12:34:56.000Z');
    expect(parseTimestamp('2020-05-04T12:34:56.5+02:00')).toBe('2020-05-04T10:34:56.500Z');
    expect(parseTimestamp(1_588_595_696_123)).toBe('2020-05-04T12:34:56.123Z');
    expect(parseTimestamp(1_588_595_696)).toBe('2020-05-04T12:34:56.000Z');
  });

  it('refuses impossible days and out-of-range years in the canonical form too', () => {
    expect(parseTimestamp('2019-02-30T00:00:00.000Z')).toBeUndefined();
    expect(parseTimestamp('2019-13-01T00:00:00.000Z')).toBeUndefined();
    expect(parseTimestamp('1999-12-31T23:59:59.999Z')).toBeUndefined();
    expect(parseTimestamp('2019-01-01T25:00:00.000Z')).toBeUndefined();
  });

  it('reads a canonical-looking value that is not a round trip the general way', () => {
    // 24:00 is not what Date prints; the result must not depend on the shortcut.
    expect(parseTimestamp('2019-01-01T24:00:00.000Z')).toBe(parseTimestamp('2019-01-01 24:00:00.000Z'));
  });

  it('refuses what is not a timestamp', () => {
    for (const v of ['', 'yesterday', '2019-01-01', `${'9'.repeat(65)}`, null, {}, Number.NaN]) {
      expect(parseTimestamp(v)).toBeUndefined();
    }
  });
});
