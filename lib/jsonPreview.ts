/**
 * A value from an input file, shown in an error message: its JSON, cut to `max` characters.
 * Never throws: a value nested too deeply for JSON.stringify (which recurses and overflows the
 * stack) or holding a bigint is described instead, so a refusal cannot turn into a crash.
 */
export function jsonPreview(value: unknown, max = 80): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Array.isArray(value)
      ? "an array nested too deeply to show"
      : `a ${typeof value} that cannot be shown as JSON`;
  }
  if (text === undefined) text = String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * How deep parsed input may nest. JSON.parse itself takes any depth, but the code after it
 * (JSON.stringify, canonical JSON, the API mapper) recurses once per level and would overflow the
 * stack long before a real export, bundle or request gets near this.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether `value` nests arrays and objects deeper than `limit` levels; iterative, so any depth is safe to ask about. */
export function nestedDeeperThan(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const member of Array.isArray(item) ? item : Object.values(item)) stack.push([member, depth + 1]);
  }
  return false;
}
