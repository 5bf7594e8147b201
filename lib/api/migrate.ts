import { isDeepStrictEqual } from "node:util";
import {
  deletePath,
  formatPath,
  getPath,
  isPlainObject,
  leaves,
  setPath,
  type JsonObject,
  type JsonPath,
} from "./jsonPath.js";
import {
  AUTH,
  ENDPOINTS,
  REMOVED_ENDPOINTS,
  SHAPES,
  unmappedKey,
  type Endpoint,
  type Shape,
  type ShapeName,
} from "./mapping.js";

export type Version = "v1" | "v2";

/** An HTTP request as the request file holds it (lib/api/files.ts validates one). */
export interface ApiRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: JsonObject;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What a migration did, every path in the input's or the output's JSON (`$.body.max_tokens`). */
export interface MigrationReport {
  endpoint: { from: string; to: string };
  /** Same parent, new name (`$.body.model_id` → `$.body.modelId`). */
  renamed: { from: string; to: string }[];
  /** Into another object (`$.body.max_tokens` → `$.body.parameters.maxTokens`). */
  moved: { from: string; to: string }[];
  /** Fields of the old version that have no place of their own in the new one, with their value. */
  deprecated: { path: string; value: unknown; replacement?: string; reason: string }[];
  /** Fields the mapping does not know, with their value and where the output keeps them. */
  unknown: { path: string; value: unknown; keptAt: string }[];
}

export interface MigrateOptions {
  /** `keep` (default) keeps unknown fields under `x-<version>-unmapped`; `refuse` makes them errors. */
  unknown?: "keep" | "refuse";
}

/** Input the mapping cannot take, naming the JSON path and what to do. */
export class ApiMigrationError extends Error {
  override name = "ApiMigrationError";
}

/** Two input fields that land on the same output field with different values. */
export class ApiConflictError extends ApiMigrationError {
  override name = "ApiConflictError";
}

type Direction = { from: Version; to: Version };
const UP: Direction = { from: "v1", to: "v2" };
const DOWN: Direction = { from: "v2", to: "v1" };

const split = (dotted: string): string[] => dotted.split(".");
const startsWith = (path: readonly string[], prefix: readonly string[]): boolean =>
  prefix.length <= path.length && prefix.every((key, i) => path[i] === key);

function emptyReport(from: string, to: string): MigrationReport {
  return { endpoint: { from, to }, renamed: [], moved: [], deprecated: [], unknown: [] };
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Maps one object of a shape; shared by bodies, query strings and array elements. */
class ObjectMapper {
  private readonly out: JsonObject = {};
  private readonly leftover: JsonObject;
  private readonly written = new Map<string, { source: JsonPath; value: unknown }>();

  constructor(
    private readonly input: JsonObject,
    private readonly shape: Shape,
    private readonly direction: Direction,
    private readonly at: JsonPath,
    private readonly report: MigrationReport,
    /** `marker`: unknown fields go under `x-<from>-unmapped`; `inPlace`: they keep their name (query strings). */
    private readonly placement: "marker" | "inPlace",
    /** Where the output object sits (differs from `at` inside renamed arrays). */
    private readonly outAt: JsonPath = at,
  ) {
    this.leftover = structuredClone(input);
  }

  map(): JsonObject {
    const up = this.direction === UP;
    const sources = this.shape.fields.map((rule) => split(up ? rule.v1 : rule.v2));
    if (up) sources.push(...this.shape.deprecated.map((rule) => split(rule.v1)));
    for (const rule of this.shape.fields) {
      const source = split(up ? rule.v1 : rule.v2);
      const target = split(up ? rule.v2 : rule.v1);
      this.take(source, target, rule.type, rule.each, true);
      // A field already in the target version's form is accepted as it is, unless its path
      // overlaps a source field (v1 `error` is a string, v2 `error` an object).
      const same = source.join(".") === target.join(".");
      if (!same && !sources.some((other) => startsWith(other, target) || startsWith(target, other))) {
        this.take(target, target, rule.type, rule.each, false);
      }
    }
    if (up) {
      for (const rule of this.shape.deprecated) {
        const source = split(rule.v1);
        const value = getPath(this.input, source);
        if (value === undefined) continue;
        this.check(source, value, rule.type);
        const entry: MigrationReport["deprecated"][number] = { path: this.format(source), value, reason: rule.reason };
        if (rule.replacement !== undefined) {
          this.write(split(rule.replacement), value, [...this.at, ...source]);
          entry.replacement = this.formatOut(split(rule.replacement));
        }
        this.report.deprecated.push(entry);
        deletePath(this.leftover, source);
      }
    }
    this.restore();
    this.keepUnknown();
    return this.out;
  }

  private format(path: readonly (string | number)[]): string {
    return formatPath([...this.at, ...path]);
  }

  private formatOut(path: readonly (string | number)[]): string {
    return formatPath([...this.outAt, ...path]);
  }

  private check(path: readonly string[], value: unknown, type: FieldRuleType): void {
    const parsed = type.safeParse(value);
    if (parsed.success) return;
    const issue = parsed.error.issues[0]!;
    throw new ApiMigrationError(
      `${this.format([...path, ...issue.path])}: ${issue.message} (got ${describe(value)}); fix the value or remove the field`,
    );
  }

  private take(
    source: string[],
    target: string[],
    type: FieldRuleType,
    each: ShapeName | undefined,
    report: boolean,
  ): void {
    const value = getPath(this.input, source);
    if (value === undefined) return;
    this.check(source, value, type);
    let mapped = value;
    if (each !== undefined) {
      mapped = (value as unknown[]).map((element, index) => {
        const elementPath = [...this.at, ...source, index];
        if (!isPlainObject(element)) {
          throw new ApiMigrationError(`${formatPath(elementPath)}: expected an object (got ${describe(element)})`);
        }
        // An element's fields are reported by the paths they are read from.
        const outPath = [...this.outAt, ...target, index];
        return new ObjectMapper(
          element,
          SHAPES[each],
          this.direction,
          elementPath,
          this.report,
          "marker",
          outPath,
        ).map();
      });
    }
    this.write(target, mapped, [...this.at, ...source]);
    deletePath(this.leftover, source);
    if (!report || source.join(".") === target.join(".")) return;
    const entry = { from: this.format(source), to: this.formatOut(target) };
    const sameParent = source.length === target.length && startsWith(target, source.slice(0, -1));
    (sameParent ? this.report.renamed : this.report.moved).push(entry);
  }

  private write(target: string[], value: unknown, source: JsonPath): void {
    const key = target.join("\u0000");
    const previous = this.written.get(key);
    if (previous !== undefined) {
      if (isDeepStrictEqual(previous.value, value)) return;
      throw new ApiConflictError(
        `${formatPath(previous.source)} (${describe(previous.value)}) and ${formatPath(source)} (${describe(value)}) ` +
          `both give ${this.formatOut(target)} in ${this.direction.to}, with different values; keep only one of them`,
      );
    }
    this.written.set(key, { source, value });
    setPath(this.out, target, value);
  }

  /** Fields the other direction kept under `x-<to>-unmapped` go back where they were. */
  private restore(): void {
    const key = unmappedKey(this.direction.to);
    if (!Object.hasOwn(this.input, key)) return;
    const kept = this.input[key];
    if (!isPlainObject(kept)) {
      throw new ApiMigrationError(`${this.format([key])}: expected an object of kept fields (got ${describe(kept)})`);
    }
    delete this.leftover[key];
    for (const leaf of leaves(kept)) {
      if (leaf.path.length === 0) continue; // an empty kept object holds nothing
      const path = leaf.path as string[];
      if (getPath(this.out, path) !== undefined || this.blocked(path)) {
        throw new ApiConflictError(
          `${this.format([key, ...path])} and a mapped field both give ${this.formatOut(path)} in ${this.direction.to}; ` +
            `keep only one of them`,
        );
      }
      setPath(this.out, path, leaf.value);
    }
  }

  /** Whether a scalar already written sits on the way to `path`. */
  private blocked(path: readonly string[]): boolean {
    for (let i = 1; i < path.length; i++) {
      const above = getPath(this.out, path.slice(0, i));
      if (above !== undefined && !isPlainObject(above)) return true;
    }
    return false;
  }

  private keepUnknown(): void {
    if (Object.keys(this.leftover).length === 0) return;
    const marker = unmappedKey(this.direction.from);
    for (const leaf of leaves(this.leftover)) {
      const path = leaf.path as string[];
      const keptAt = this.placement === "marker" ? [marker, ...path] : path;
      if (this.placement === "inPlace" && getPath(this.out, path) !== undefined) {
        throw new ApiConflictError(
          `${this.format(path)} is unknown in ${this.direction.from} but a mapped field also gives it; remove it`,
        );
      }
      this.report.unknown.push({ path: this.format(path), value: leaf.value, keptAt: this.formatOut(keptAt) });
    }
    if (this.placement === "marker") this.out[marker] = this.leftover;
    else Object.assign(this.out, this.leftover);
  }
}

type FieldRuleType = Shape["fields"][number]["type"];

const EMPTY_SHAPE: Shape = { fields: [], deprecated: [] };

function mapObject(
  input: JsonObject,
  shape: ShapeName | undefined,
  direction: Direction,
  at: JsonPath,
  report: MigrationReport,
  placement: "marker" | "inPlace" = "marker",
): JsonObject {
  return new ObjectMapper(
    input,
    shape === undefined ? EMPTY_SHAPE : SHAPES[shape],
    direction,
    at,
    report,
    placement,
  ).map();
}

// ------ endpoints

interface Matched {
  endpoint: Endpoint;
  url: URL;
  pathname: string;
}

function templateSegments(template: string): string[] {
  return template.split("/").filter((segment) => segment !== "");
}

const isParameter = (segment: string): boolean => /^\{.+\}$/.test(segment);

function matchEndpoint(method: string, rawUrl: string, version: Version): Matched {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ApiMigrationError(
      `$.url: ${describe(rawUrl)} is not an absolute URL (like https://api.fabstir.com/v1/jobs)`,
    );
  }
  const segments = url.pathname.split("/").filter((segment) => segment !== "");
  const fits = (template: string): string[] | undefined => {
    const parts = templateSegments(template);
    if (parts.length !== segments.length) return undefined;
    const values: string[] = [];
    for (const [i, part] of parts.entries()) {
      if (isParameter(part)) values.push(segments[i]!);
      else if (part !== segments[i]) return undefined;
    }
    return values;
  };
  const other: Version = version === "v1" ? "v2" : "v1";
  for (const endpoint of ENDPOINTS) {
    if (endpoint.method !== method) continue;
    const values = fits(endpoint[version]);
    if (values === undefined) continue;
    let index = 0;
    const pathname =
      "/" +
      templateSegments(endpoint[other])
        .map((part) => (isParameter(part) ? values[index++]! : part))
        .join("/");
    return { endpoint, url, pathname };
  }
  if (version === "v1") {
    const removed = REMOVED_ENDPOINTS.find((entry) => entry.method === method && fits(entry.v1) !== undefined);
    if (removed !== undefined) {
      throw new ApiMigrationError(`$.url: ${method} ${removed.v1} has no v2 endpoint: ${removed.reason}`);
    }
  }
  const known = ENDPOINTS.map((endpoint) => `${endpoint.method} ${endpoint[version]}`).join(", ");
  throw new ApiMigrationError(
    `$.url: ${method} ${url.pathname} is not a ${version} endpoint of the Fabstir API; the known ones are ${known}`,
  );
}

function mapQuery(url: URL, shape: ShapeName | undefined, direction: Direction, report: MigrationReport): string {
  const query: JsonObject = {};
  for (const [name, value] of url.searchParams) {
    if (Object.hasOwn(query, name)) {
      throw new ApiMigrationError(`${formatPath(["query", name])}: repeated query parameter; give it once`);
    }
    query[name] = value;
  }
  if (Object.keys(query).length === 0) return "";
  const mapped = mapObject(query, shape, direction, ["query"], report, "inPlace");
  return "?" + new URLSearchParams(mapped as Record<string, string>).toString();
}

// ------ headers

function mapHeaders(headers: Record<string, string>, direction: Direction, report: MigrationReport) {
  const seen = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) {
      throw new ApiMigrationError(
        `${formatPath(["headers", name])}: the header ${seen.get(lower)} is given twice (header names ignore case)`,
      );
    }
    seen.set(lower, name);
  }
  const keyName = seen.get(AUTH.v1Header.toLowerCase());
  const authName = seen.get(AUTH.v2Header.toLowerCase());
  const out: Record<string, string> = {};
  const up = direction === UP;
  const source = up ? keyName : authName;
  const existing = up ? authName : keyName;
  let translated: string | undefined;
  if (source !== undefined) {
    const raw = headers[source]!;
    const bearer = new RegExp(`^${AUTH.v2Scheme} (\\S+)$`);
    if (up) {
      if (raw.trim() === "") throw new ApiMigrationError(`${formatPath(["headers", source])}: the API key is empty`);
      translated = `${AUTH.v2Scheme} ${raw.trim()}`;
    } else {
      const match = bearer.exec(raw.trim());
      if (match === null) {
        throw new ApiMigrationError(
          `${formatPath(["headers", source])}: only "${AUTH.v2Scheme} <key>" has a v1 form (X-API-Key); ` +
            `v1 accepts no other authorization`,
        );
      }
      translated = match[1]!;
    }
    if (existing !== undefined && headers[existing]!.trim() !== translated) {
      throw new ApiConflictError(
        `${formatPath(["headers", source])} and ${formatPath(["headers", existing])} give different credentials; ` +
          `keep only one of them`,
      );
    }
  }
  const target = up ? AUTH.v2Header : AUTH.v1Header;
  for (const [name, value] of Object.entries(headers)) {
    if (name === existing && translated !== undefined) continue; // the same credential, given both ways
    if (name === source) {
      out[target] = translated!;
      report.renamed.push({ from: formatPath(["headers", name]), to: formatPath(["headers", target]) });
    } else {
      out[name] = value;
    }
  }
  return out;
}

// ------ requests and responses

function migrateRequestTo(request: ApiRequest, direction: Direction, options: MigrateOptions) {
  const method = request.method.toUpperCase();
  const matched = matchEndpoint(method, request.url, direction.from);
  const { endpoint, url } = matched;
  const report = emptyReport(`${method} ${endpoint[direction.from]}`, `${method} ${endpoint[direction.to]}`);
  const headers = mapHeaders(request.headers, direction, report);
  const search = mapQuery(url, endpoint.query, direction, report);
  const migrated: ApiRequest = { method, url: `${url.origin}${matched.pathname}${search}${url.hash}`, headers };
  if (request.body !== undefined) {
    migrated.body = mapObject(request.body, endpoint.body, direction, ["body"], report);
  }
  refuseUnknown(report, options);
  return { request: migrated, report };
}

function refuseUnknown(report: MigrationReport, options: MigrateOptions): void {
  if (options.unknown !== "refuse" || report.unknown.length === 0) return;
  throw new ApiMigrationError(
    `unknown fields (refused): ${report.unknown.map((entry) => entry.path).join(", ")}; ` +
      `remove them, or migrate without refusing to keep them under x-…-unmapped`,
  );
}

/** A v1 request in v2 form, with what was renamed, moved, deprecated or unknown. */
export function migrateRequest(
  request: ApiRequest,
  options: MigrateOptions = {},
): { request: ApiRequest; report: MigrationReport } {
  return migrateRequestTo(request, UP, options);
}

/**
 * A v2 request in v1 form: the inverse of migrateRequest for everything the mapping maps both
 * ways (deprecated v1 fields do not come back; v2 fields unknown to v1 are kept under x-v2-unmapped).
 */
export function downgradeRequest(
  request: ApiRequest,
  options: MigrateOptions = {},
): { request: ApiRequest; report: MigrationReport } {
  return migrateRequestTo(request, DOWN, options);
}

function migrateResponseTo(
  response: ApiResponse,
  request: Pick<ApiRequest, "method" | "url">,
  direction: Direction,
  options: MigrateOptions,
) {
  const method = request.method.toUpperCase();
  const { endpoint } = matchEndpoint(method, request.url, direction.from);
  const shape: ShapeName = response.status >= 400 ? "error" : endpoint.response;
  const report = emptyReport(`${method} ${endpoint[direction.from]}`, `${method} ${endpoint[direction.to]}`);
  if (!isPlainObject(response.body)) {
    throw new ApiMigrationError(`$.body: expected a JSON object (got ${describe(response.body)})`);
  }
  const body = mapObject(response.body, shape, direction, ["body"], report);
  refuseUnknown(report, options);
  return { response: { status: response.status, headers: { ...response.headers }, body }, report };
}

/** A v1 response (to the v1 `request`) in v2 form. Status >= 400 bodies use the error shape. */
export function migrateResponse(
  response: ApiResponse,
  request: Pick<ApiRequest, "method" | "url">,
  options: MigrateOptions = {},
): { response: ApiResponse; report: MigrationReport } {
  return migrateResponseTo(response, request, UP, options);
}

/** A v2 response (to the v2 `request`) in v1 form; the inverse of migrateResponse where it maps both ways. */
export function downgradeResponse(
  response: ApiResponse,
  request: Pick<ApiRequest, "method" | "url">,
  options: MigrateOptions = {},
): { response: ApiResponse; report: MigrationReport } {
  return migrateResponseTo(response, request, DOWN, options);
}
