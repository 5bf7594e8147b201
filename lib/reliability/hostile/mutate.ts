import fc from "fast-check";

/**
 * Hostile content made from a valid file: mutations at byte level (truncation at any byte, byte
 * flips, invalid UTF-8, a BOM, CRLF line ends, deleted or duplicated lines, nothing at all), at
 * JSON level (one value anywhere replaced by a wrong type, a huge number, a lone surrogate, an
 * enormous string, deep nesting, an object with `toString`/`__proto__` keys; a key deleted or
 * added), and free-form text. Every arbitrary yields the file's bytes.
 */

const DEEP = "\u0000deep\u0000";
/** Deeper than any recursive walk survives on Node's default stack. */
const DEPTHS = [64, 5_000, 50_000] as const;

/** Values to put anywhere a JSON value goes. `DEEP` marks a place for nested brackets (see `render`). */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    "",
    "0",
    "-1",
    "9".repeat(100),
    "0x",
    "0xzz",
    "\ud800",
    "a\udfffb",
    "__proto__",
    [],
    {},
    [null],
    { toString: 1, valueOf: 1 },
    { __proto__: null, constructor: 1 },
  ),
  fc.constantFrom(...DEPTHS).map((depth) => `${DEEP}${depth}`),
  fc.integer({ min: 10_000, max: 2_000_000 }).map((n) => "x".repeat(n)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }).map((n) => `${DEEP}num${n}`),
  fc.jsonValue({ maxDepth: 3 }),
);

/** JSON text of `value`, with the `DEEP` placeholders expanded (JSON.stringify itself would recurse). */
export function render(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/"\\u0000deep\\u0000(num)?(-?\d+)"/g, (_, num, n: string) =>
    num === undefined ? `${"[".repeat(Number(n))}${"]".repeat(Number(n))}` : n,
  );
}

type Path = (string | number)[];

function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...at, i], out));
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) paths(item, [...at, key], out);
  }
  return out;
}

function clone(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

type Edit = { kind: "set"; value: unknown } | { kind: "delete" } | { kind: "add"; key: string; value: unknown };

/** `value` with one edit at `at` (the root is replaced for "set"/"delete"). */
function edited(value: unknown, at: Path, edit: Edit): unknown {
  const copy = clone(value);
  if (at.length === 0) {
    if (edit.kind === "set") return edit.value;
    if (edit.kind === "delete") return undefined;
  }
  let parent = copy as Record<string | number, unknown>;
  for (const step of at.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = at.at(-1);
  if (edit.kind === "add") {
    const target = (last === undefined ? copy : parent[last]) as Record<string, unknown> | unknown[];
    if (Array.isArray(target)) target.push(edit.value);
    else if (typeof target === "object" && target !== null) {
      // An own "__proto__" member, as JSON.parse would make it.
      Object.defineProperty(target, edit.key, {
        value: edit.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else return edit.value;
    return copy;
  }
  if (edit.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last!];
  } else parent[last!] = edit.value;
  return copy;
}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 5, arbitrary: hostileValue.map((value): Edit => ({ kind: "set", value })) },
  { weight: 1, arbitrary: fc.constant<Edit>({ kind: "delete" }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("__proto__", "constructor", "extra", "toString"), hostileValue)
      .map(([key, value]): Edit => ({ kind: "add", key, value })),
  },
);

/** One JSON value changed somewhere in `valid` (a parsed document). */
export function jsonEdit(valid: unknown, indent?: number): fc.Arbitrary<string> {
  const all = paths(valid);
  return fc.tuple(fc.constantFrom(...all), edit).map(([at, e]) => {
    const value = edited(valid, at, e);
    return value === undefined ? "" : render(value, indent);
  });
}

/** Byte-level damage to `text`. */
export function byteMutation(text: string): fc.Arbitrary<Buffer> {
  const bytes = Buffer.from(text, "utf8");
  const lines = text.split("\n");
  const n = Math.max(1, bytes.length);
  return fc.oneof(
    fc.nat(n).map((cut) => bytes.subarray(0, cut)),
    fc.tuple(fc.nat(n - 1), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
      const copy = Buffer.from(bytes);
      if (copy.length > 0) copy[at % copy.length]! ^= mask;
      return copy;
    }),
    fc
      .tuple(fc.nat(n), fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80], [0x00]))
      .map(([at, bad]) => Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)])),
    fc.constant(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])),
    fc.constant(Buffer.from(text.replace(/\n/g, "\r\n"), "utf8")),
    fc.constant(Buffer.alloc(0)),
    fc.nat(lines.length - 1).map((i) => Buffer.from(lines.filter((_, j) => j !== i).join("\n"), "utf8")),
    fc
      .nat(lines.length - 1)
      .map((i) => Buffer.from(lines.flatMap((l, j) => (j === i ? [l, l] : [l])).join("\n"), "utf8")),
    fc.tuple(fc.nat(lines.length - 1), fc.nat(lines.length - 1)).map(([i, j]) => {
      const copy = [...lines];
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      return Buffer.from(copy.join("\n"), "utf8");
    }),
  );
}

/** Free-form content: random bytes, random text, JSON-ish fragments. */
export const freeForm: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ unit: "binary", maxLength: 300 }).map((s) => Buffer.from(s, "utf8")),
  fc.json().map((s) => Buffer.from(s, "utf8")),
  fc
    .array(fc.constantFrom("{", "}", "[", "]", ",", ":", '"', "\n", "1e999", "null", '"a"', "-0", "\\u", "\ufeff"), {
      maxLength: 60,
    })
    .map((parts) => Buffer.from(parts.join(""), "utf8")),
  fc.constantFrom(...DEPTHS).map((d) => Buffer.from(`${"[".repeat(d)}${"]".repeat(d)}`)),
  fc.constantFrom(...DEPTHS).map((d) => Buffer.from(`${'{"a":'.repeat(d)}1${"}".repeat(d)}`)),
  fc.constantFrom(...DEPTHS).map((d) => Buffer.from("[".repeat(d))),
);

/** Hostile bytes for a JSON file whose valid form is `valid` (written with `indent`). */
export function hostileJson(valid: unknown, indent?: number): fc.Arbitrary<Buffer> {
  const text = `${JSON.stringify(valid, null, indent)}\n`;
  return fc.oneof(
    { weight: 4, arbitrary: jsonEdit(valid, indent).map((t) => Buffer.from(t, "utf8")) },
    { weight: 3, arbitrary: byteMutation(text) },
    { weight: 1, arbitrary: freeForm },
    // Two edits: the first mismatch is not always the only check.
    { weight: 1, arbitrary: jsonEdit(valid, indent).map((t) => Buffer.from(t, "utf8")) },
  );
}

/** Hostile bytes for a JSON Lines file: one line's value edited, byte damage, or free form. */
export function hostileJsonLines(validLines: readonly unknown[]): fc.Arbitrary<Buffer> {
  const text = `${validLines.map((line) => JSON.stringify(line)).join("\n")}\n`;
  const lineEdit = fc.nat(validLines.length - 1).chain((i) =>
    jsonEdit(validLines[i]).map((changed) => {
      const lines = validLines.map((line) => JSON.stringify(line));
      lines[i] = changed;
      return Buffer.from(`${lines.join("\n")}\n`, "utf8");
    }),
  );
  return fc.oneof(
    { weight: 4, arbitrary: lineEdit },
    { weight: 3, arbitrary: byteMutation(text) },
    { weight: 1, arbitrary: freeForm },
  );
}
