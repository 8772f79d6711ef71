/**
 * PostgreSQL cannot store NUL (U+0000) in text or jsonb, nor lone UTF-16
 * surrogates in jsonb. Input from outside (EventBridge events, Slack inputs,
 * and error messages that quote them) may carry either, so they are replaced
 * with U+FFFD before anything is stored; nothing else changes.
 */
function storableString(s: string): string {
  const wellFormed = s.isWellFormed() ? s : s.toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
}

/**
 * The value with every string (keys too) made storable. A value with nothing to replace,
 * as nearly every event is, comes back as the same object, not a copy: copying a 2 KB
 * event cost ingest more than validating it. Only the containers on the way to a
 * replaced string are new, so the input is never modified.
 */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return storableString(value) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const s = storable(v);
      if (out === undefined && s !== v) out = value.slice(0, i);
      out?.push(s);
    }
    return (out ?? value) as T;
  }
  if (typeof value === 'object' && value !== null) {
    const source = value as Record<string, unknown>;
    const keys = Object.keys(source);
    // Entries, from the first change on: Object.fromEntries defines own properties, so a key
    // such as "__proto__" stays a plain key (an assignment would set the prototype).
    let out: Array<[string, unknown]> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const v = source[k];
      const sk = storableString(k);
      const sv = storable(v);
      if (out === undefined && (sk !== k || sv !== v)) out = keys.slice(0, i).map((p) => [p, source[p]]);
      out?.push([sk, sv]);
    }
    return (out ? Object.fromEntries(out) : value) as T;
  }
  return value;
}

/** Whether a parsed JSON value nests deeper than `max` (checked without recursion, so any depth is safe). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
  return false;
}
