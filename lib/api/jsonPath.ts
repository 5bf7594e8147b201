/** A location inside a JSON document: object keys and array indexes, outermost first. */
export type JsonPath = readonly (string | number)[];

export type JsonObject = { [key: string]: unknown };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.body.jobs[0].job_id`; keys that are not identifiers are quoted: `$.headers["X-API-Key"]`. */
export function formatPath(path: JsonPath): string {
  let out = "$";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `path` under `root`, or undefined when any step is missing or not an object. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const key of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** Sets `value` at `path`, creating the objects on the way (the caller checked they are free). */
export function setPath(root: JsonObject, path: readonly string[], value: unknown): void {
  let current = root;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(current[key])) current[key] = {};
    current = current[key] as JsonObject;
  }
  current[path[path.length - 1]!] = value;
}

/**
 * Removes the value at `path`, then every parent that this removal left empty (a parent that was
 * empty in the input is not touched, so an input `{}` still counts as a field).
 */
export function deletePath(root: JsonObject, path: readonly string[]): void {
  const parents: JsonObject[] = [root];
  for (const key of path.slice(0, -1)) {
    const next = parents[parents.length - 1]![key];
    if (!isPlainObject(next)) return;
    parents.push(next);
  }
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const parent = parents[depth]!;
    delete parent[path[depth]!];
    if (depth === 0 || Object.keys(parent).length > 0) return;
  }
}

/**
 * The leaves of a value with their paths: scalars, arrays and empty objects (a non-empty object is
 * not a leaf, its members are). Arrays are leaves: the mapping moves them whole.
 */
export function leaves(value: unknown, at: JsonPath = []): { path: JsonPath; value: unknown }[] {
  if (!isPlainObject(value) || Object.keys(value).length === 0) return [{ path: at, value }];
  return Object.entries(value).flatMap(([key, member]) => leaves(member, [...at, key]));
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
