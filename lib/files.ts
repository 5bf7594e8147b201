import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/**
 * Writes `text` to a new temporary file next to `file` (same directory, so a rename is atomic)
 * and flushes it to disk; returns its path. The caller renames it into place or removes it.
 */
export async function writeTemporary(file: string, text: string): Promise<string> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  const handle = await open(temporary, "wx");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  return temporary;
}

/** Flushes a directory's entries to disk: a rename is durable only once its directory is. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface AtomicWriteOptions {
  /** Runs once the temporary file is flushed, before the rename (the reliability harness's crash point). */
  beforeRename?: () => void;
}

/**
 * Writes `text` to `file` so that a crash leaves either the old file or the new one, never a mix:
 * a flushed temporary file renamed into place, then the directory flushed. On failure the
 * temporary file is removed and the error rethrown.
 */
export async function writeFileAtomically(file: string, text: string, options: AtomicWriteOptions = {}): Promise<void> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true });
  const temporary = await writeTemporary(file, text);
  try {
    options.beforeRename?.();
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}
