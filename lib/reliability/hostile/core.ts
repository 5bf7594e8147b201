import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";

/**
 * The hostile-input family (issue 10): per input kind, generated content goes through the reader
 * the tool uses, in a temporary directory. A case passes when the reader returns, or throws its
 * own documented error type with a message; anything else (a TypeError, a RangeError from a
 * stack overflow, a SyntaxError leaking out, a partial write) fails, and the first failure is
 * shrunk by fast-check and reported with the seed that reproduces it.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

export interface HostileKind<T> {
  /** The table's row label, e.g. "snapshot". */
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** The reader's own refusal types; a subclass counts as its parent. */
  refusals: readonly ErrorClass[];
  /** Reads `input` the way the tool does, inside `dir` (fresh and empty per case). */
  read(input: T, dir: string): Promise<void>;
  /** Shortens a counterexample for the report. */
  show?(input: T): string;
}

/** A case that broke the promise for a reason other than an exception (a partial write, a bad round trip). */
export class HostileFailure extends Error {
  override name = "HostileFailure";
}

export interface HostileResult {
  kind: string;
  cases: number;
  passed: number;
  failed: number;
  /** The fast-check seed of this kind's run (derived from the run's seed and the kind's name). */
  seed: number;
  /** The first failure, shrunk: what the reader threw and the input that made it. */
  counterexample?: { error: string; input: string };
  ms: number;
}

/** A 32-bit fast-check seed from the run's seed and the kind's name. */
export function kindSeed(seed: string, kind: string): number {
  return createHash("sha256").update(`hostile:${seed}:${kind}`).digest().readInt32BE(0);
}

/** Undefined when `error` is a refusal of the reader (its type, with a message); otherwise why it is not. */
export function unexpected(error: unknown, refusals: readonly ErrorClass[]): string | undefined {
  if (error instanceof HostileFailure) return error.message;
  const own = refusals.some((type) => error instanceof type);
  if (own && (error as Error).message.trim() !== "") return undefined;
  if (own) return `${(error as Error).name} with an empty message`;
  if (error instanceof Error) {
    // Where it came from: the first frame in the project (a stack overflow's own frames repeat).
    const frame = error.stack
      ?.split("\n")
      .find((line) => /\/(lib|tasks)\//.test(line) && !line.includes("/reliability/"));
    return `${error.name}: ${error.message.slice(0, 300)}${frame === undefined ? "" : ` (${frame.trim()})`}`;
  }
  return `a thrown ${typeof error}: ${String(error).slice(0, 300)}`;
}

export function describeInput(value: unknown, max = 400): string {
  let text: string;
  if (value instanceof Uint8Array) {
    const utf8 = Buffer.from(value).toString("utf8");
    text = `${value.length} bytes: ${JSON.stringify(utf8.length > max ? `${utf8.slice(0, max)}…` : utf8)}`;
  } else {
    try {
      text = JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max + 40 ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

async function oneCase<T>(kind: HostileKind<T>, input: T): Promise<string | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `fabstir-hostile-${kind.name.replace(/\W/g, "-")}-`));
  try {
    await kind.read(input, dir);
    return undefined;
  } catch (error) {
    return unexpected(error, kind.refusals);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `cases` generated inputs through the kind's reader, counting each; when one fails, runs
 * fast-check on the same seed to shrink the first failure to a small counterexample.
 */
export async function runHostileKind<T>(kind: HostileKind<T>, cases: number, seed: string): Promise<HostileResult> {
  const started = performance.now();
  const fcSeed = kindSeed(seed, kind.name);
  const inputs = fc.sample(kind.arbitrary, { numRuns: cases, seed: fcSeed });
  let failed = 0;
  for (const input of inputs) if ((await oneCase(kind, input)) !== undefined) failed++;
  const result: HostileResult = { kind: kind.name, cases, passed: cases - failed, failed, seed: fcSeed, ms: 0 };
  if (failed > 0) {
    const details = await fc.check(
      fc.asyncProperty(kind.arbitrary, async (input) => {
        const why = await oneCase(kind, input);
        if (why !== undefined) throw new HostileFailure(why);
      }),
      { numRuns: cases, seed: fcSeed },
    );
    if (details.failed && details.counterexample !== null) {
      const [input] = details.counterexample;
      result.counterexample = {
        error: details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance),
        input: kind.show?.(input) ?? describeInput(input),
      };
    }
  }
  result.ms = performance.now() - started;
  return result;
}

/** Throws a HostileFailure when `file`'s bytes are not `before` (a refusal must write nothing). */
export async function expectUnchanged(file: string, before: Buffer | undefined, what: string): Promise<void> {
  let after: Buffer | undefined;
  try {
    after = await readFile(file);
  } catch {
    after = undefined;
  }
  const same = before === undefined ? after === undefined : after !== undefined && before.equals(after);
  if (!same) throw new HostileFailure(`partial write: ${what} changed although the input was refused`);
}
