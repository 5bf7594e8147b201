/**
 * A platform export that cannot be imported: the message names the file, the line and (for a wrong
 * type) the JSON path, and says what to do. Parsing is all-or-nothing, so nothing was imported.
 */
export class PlatformImportError extends Error {
  override name = "PlatformImportError";

  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${message}`);
  }
}
