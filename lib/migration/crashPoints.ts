/**
 * Test-only crash points for the reliability harness (docs/reliability.md). With the environment
 * variable `FABSTIR_CRASH_AT=<point>:<n>` set, the process kills itself with SIGKILL at the n-th
 * time it reaches `<point>`: no `finally`, no flush, exactly like a power cut. Unset (always, in
 * real use), `crashPoint` is a counter that does nothing. This is the only module that reads it.
 *
 * - `between-batches`: a batch is confirmed and the journal is empty; the next one is not planned.
 * - `after-send-before-receipt`: a batch is journaled and broadcast; its receipt is not read yet.
 * - `mid-journal-write`: the journal's new content is in its flushed temporary file, not yet
 *   renamed into place (the old journal is still the journal).
 */

export const CRASH_POINTS = ["between-batches", "after-send-before-receipt", "mid-journal-write"] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];
export const CRASH_ENV = "FABSTIR_CRASH_AT";

export interface CrashPlan {
  point: CrashPoint;
  /** 1-based: the occurrence that kills. */
  occurrence: number;
}

/** Reads `<point>:<n>`; a malformed value is refused (a harness typo must not pass as "no crash"). */
export function parseCrashPlan(value: string | undefined): CrashPlan | undefined {
  if (value === undefined || value === "") return undefined;
  const match = /^([a-z-]+):([1-9]\d{0,8})$/.exec(value);
  if (match === null || !(CRASH_POINTS as readonly string[]).includes(match[1]!)) {
    throw new Error(
      `${CRASH_ENV}="${value}" is not <point>:<n> with a point among ${CRASH_POINTS.join(", ")} and n ≥ 1.`,
    );
  }
  return { point: match[1] as CrashPoint, occurrence: Number(match[2]) };
}

let plan: CrashPlan | undefined | null = null;
const seen = new Map<CrashPoint, number>();

/** Marks that the process reached `point`; kills it there when `FABSTIR_CRASH_AT` says so. */
export function crashPoint(point: CrashPoint): void {
  if (plan === null) plan = parseCrashPlan(process.env[CRASH_ENV]);
  if (plan === undefined || plan.point !== point) return;
  const count = (seen.get(point) ?? 0) + 1;
  seen.set(point, count);
  if (count === plan.occurrence) process.kill(process.pid, "SIGKILL");
}
