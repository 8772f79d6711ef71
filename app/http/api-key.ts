import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * A constant-time check of a presented secret against the expected one. Both
 * are hashed first so that neither their contents nor their lengths leak
 * through timing; the expected one is hashed once, here, since the check runs
 * on every request.
 */
export function secretMatcher(expected: string): (presented: string | undefined) => boolean {
  const want = sha256(expected);
  return (presented) => presented !== undefined && timingSafeEqual(sha256(presented), want);
}
