import { nestsDeeperThan, storable } from '../../app/domain/text';

describe('storable text', () => {
  it('replaces NUL and lone surrogates, deep in objects and keys, and leaves the rest alone', () => {
    const value = { 'k\u0000': ['a\u0000b', '\ud800x', '😀 ok'], n: 1, nested: { s: 'x\udc00' }, nil: null };
    expect(storable(value)).toEqual({
      'k\uFFFD': ['a\uFFFDb', '\uFFFDx', '😀 ok'],
      n: 1,
      nested: { s: 'x\uFFFD' },
      nil: null,
    });
  });

  it('returns well-formed strings unchanged', () => {
    const s = 'GuardDuty: Recon:EC2/Portscan — 😀';
    expect(storable(s)).toBe(s);
  });
});

describe('nesting depth', () => {
  it('measures depth without recursion, even 100,000 levels deep', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(nestsDeeperThan(deep, 64)).toBe(true);
    expect(nestsDeeperThan({ a: { b: [1, { c: 2 }] } }, 64)).toBe(false);
    expect(nestsDeeperThan({ a: { b: { c: 1 } } }, 2)).toBe(true);
    expect(nestsDeeperThan('flat', 0)).toBe(false);
  });
});
