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

  it('returns a value with nothing to replace as it is, not a copy', () => {
    const event = { detail: { id: 'abc', resource: { tags: [{ key: 'Name', value: '😀' }] }, count: 3 }, n: null };
    expect(storable(event)).toBe(event);
  });

  it('copies only the containers on the way to a replaced string, and never changes its input', () => {
    const clean = { a: ['x'] };
    const value = { clean, list: ['ok', 'bad\u0000'], n: 1 };
    const before = structuredClone(value);
    const out = storable(value);
    expect(out).toEqual({ clean: { a: ['x'] }, list: ['ok', 'bad\uFFFD'], n: 1 });
    expect(value).toEqual(before);
    expect(out).not.toBe(value);
    expect(out.list).not.toBe(value.list);
    expect(out.clean).toBe(clean);
  });

  it('keeps "__proto__" an own key when an object is copied, not the prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "s": "x\\u0000"}') as Record<string, unknown>;
    const out = storable(value);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect((out as { polluted?: boolean }).polluted).toBeUndefined();
    expect(out.s).toBe('x\uFFFD');
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
