import hre from "hardhat";

/** What a task printed (console and stdout, in order) and the exit code it set. */
export interface TaskRun {
  code: number;
  lines: string[];
}

/**
 * Runs Hardhat task `name` with `args`, capturing everything it prints and the exit code it sets
 * (`process.exitCode`), which is restored afterwards so that a test's refusal case does not fail
 * the whole mocha run.
 */
export async function runTaskCapturing(name: string, args: Record<string, unknown>): Promise<TaskRun> {
  const previous = process.exitCode;
  process.exitCode = undefined;
  const { log, error } = console;
  const write = process.stdout.write.bind(process.stdout);
  const lines: string[] = [];
  console.log = console.error = (...parts: unknown[]) => void lines.push(parts.join(" "));
  process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    await hre.tasks.getTask(name).run(args);
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = previous;
  return { code, lines };
}
