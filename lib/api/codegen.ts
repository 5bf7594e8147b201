import { AUTH } from "./mapping.js";
import type { ApiRequest } from "./migrate.js";

export type CodegenLanguage = "js" | "python" | "go";
export const CODEGEN_LANGUAGES: readonly CodegenLanguage[] = ["js", "python", "go"];

/** The environment variable the snippets read the API key from: keys do not belong in source. */
export const API_KEY_VARIABLE = "FABSTIR_API_KEY";

interface Header {
  name: string;
  /** A literal value, or the key from the environment with an optional scheme before it. */
  literal?: string;
  keyWithScheme?: string;
}

/** The request's headers, with its credential replaced by a read of FABSTIR_API_KEY. */
function headersOf(request: ApiRequest): Header[] {
  const headers: Header[] = Object.entries(request.headers).map(([name, value]) => {
    const lower = name.toLowerCase();
    if (lower === AUTH.v1Header.toLowerCase()) return { name, keyWithScheme: "" };
    if (lower === AUTH.v2Header.toLowerCase() && value.startsWith(`${AUTH.v2Scheme} `)) {
      return { name, keyWithScheme: `${AUTH.v2Scheme} ` };
    }
    return { name, literal: value };
  });
  const hasContentType = headers.some((header) => header.name.toLowerCase() === "content-type");
  if (request.body !== undefined && !hasContentType)
    headers.push({ name: "Content-Type", literal: "application/json" });
  return headers;
}

const quote = (text: string): string => JSON.stringify(text);

/** A Python literal of a JSON value (JSON's string escapes are all valid Python escapes). */
function python(value: unknown, indent: string): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return quote(value);
  if (typeof value === "number") return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => `${inner}${python(item, inner)},\n`).join("")}${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([key, item]) => `${inner}${quote(key)}: ${python(item, inner)},\n`).join("")}${indent}}`;
}

/** A Go interpreted string literal: printable ASCII as is, every other byte as \xNN (always valid Go). */
function goString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, "utf8")) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out + '"';
}

function javascript(request: ApiRequest, title: string): string {
  const headers = headersOf(request).map((header) => {
    const value =
      header.literal !== undefined
        ? quote(header.literal)
        : header.keyWithScheme === ""
          ? `process.env.${API_KEY_VARIABLE}`
          : `\`${header.keyWithScheme}\${process.env.${API_KEY_VARIABLE}}\``;
    return `      ${quote(header.name)}: ${value},\n`;
  });
  const body =
    request.body === undefined
      ? ""
      : `    body: JSON.stringify(${JSON.stringify(request.body, null, 2).replaceAll("\n", "\n    ")}),\n`;
  return (
    `// ${title}\n` +
    `async function main() {\n` +
    `  const response = await fetch(${quote(request.url)}, {\n` +
    `    method: ${quote(request.method)},\n` +
    `    headers: {\n${headers.join("")}    },\n` +
    body +
    `  });\n` +
    `  if (!response.ok) throw new Error(\`Fabstir API: HTTP \${response.status}\`);\n` +
    `  console.log(await response.json());\n` +
    `}\n\n` +
    `main();\n`
  );
}

function pythonSnippet(request: ApiRequest, title: string): string {
  const headers = headersOf(request).map((header) => {
    const value =
      header.literal !== undefined
        ? quote(header.literal)
        : header.keyWithScheme === ""
          ? `os.environ[${quote(API_KEY_VARIABLE)}]`
          : `${quote(header.keyWithScheme!)} + os.environ[${quote(API_KEY_VARIABLE)}]`;
    return `        ${quote(header.name)}: ${value},\n`;
  });
  const usesKey = headersOf(request).some((header) => header.keyWithScheme !== undefined);
  const body = request.body === undefined ? "" : `    json=${python(request.body, "    ")},\n`;
  return (
    `# ${title}\n` +
    (usesKey ? "import os\n\n" : "") +
    `import requests\n\n` +
    `response = requests.request(\n` +
    `    ${quote(request.method)},\n` +
    `    ${quote(request.url)},\n` +
    `    headers={\n${headers.join("")}    },\n` +
    body +
    `    timeout=30,\n` +
    `)\n` +
    `response.raise_for_status()\n` +
    `print(response.json())\n`
  );
}

function goSnippet(request: ApiRequest, title: string): string {
  const entries = headersOf(request);
  const usesKey = entries.some((header) => header.keyWithScheme !== undefined);
  const imports = [
    "fmt",
    "io",
    "net/http",
    ...(usesKey ? ["os"] : []),
    ...(request.body !== undefined ? ["strings"] : []),
  ];
  const headers = entries.map((header) => {
    const value =
      header.literal !== undefined
        ? goString(header.literal)
        : header.keyWithScheme === ""
          ? `os.Getenv(${goString(API_KEY_VARIABLE)})`
          : `${goString(header.keyWithScheme!)} + os.Getenv(${goString(API_KEY_VARIABLE)})`;
    return `\treq.Header.Set(${goString(header.name)}, ${value})\n`;
  });
  const body = request.body === undefined ? "nil" : `strings.NewReader(${goString(JSON.stringify(request.body))})`;
  return (
    `// ${title}\n` +
    `package main\n\n` +
    `import (\n${imports.map((name) => `\t${goString(name)}\n`).join("")})\n\n` +
    `func main() {\n` +
    `\treq, err := http.NewRequest(${goString(request.method)}, ${goString(request.url)}, ${body})\n` +
    `\tif err != nil {\n\t\tpanic(err)\n\t}\n` +
    headers.join("") +
    `\tres, err := http.DefaultClient.Do(req)\n` +
    `\tif err != nil {\n\t\tpanic(err)\n\t}\n` +
    `\tdefer res.Body.Close()\n` +
    `\tout, err := io.ReadAll(res.Body)\n` +
    `\tif err != nil {\n\t\tpanic(err)\n\t}\n` +
    `\tfmt.Println(res.Status, string(out))\n` +
    `}\n`
  );
}

/** A complete client program for `request` in `language` (fetch, requests or net/http). */
export function clientSnippet(language: CodegenLanguage, request: ApiRequest, title: string): string {
  // A title is a comment: keep it on one line.
  const line = title.replace(/[\r\n\u2028\u2029]+/g, " ");
  if (language === "js") return javascript(request, line);
  if (language === "python") return pythonSnippet(request, line);
  return goSnippet(request, line);
}

/** The before (v1) and after (v2) programs for one migrated request. */
export function beforeAndAfter(
  language: CodegenLanguage,
  v1: ApiRequest,
  v2: ApiRequest,
): { before: string; after: string } {
  return {
    before: clientSnippet(language, v1, `Fabstir API v1: ${v1.method} ${new URL(v1.url).pathname}`),
    after: clientSnippet(language, v2, `Fabstir API v2: ${v2.method} ${new URL(v2.url).pathname}`),
  };
}
