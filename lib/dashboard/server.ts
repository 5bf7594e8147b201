import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import { allowedHostnames, checkHost, checkSameOrigin, hasToken, isLoopback } from "./security.js";
import { ControlRefused, type MigrationSession } from "./session.js";
import type { DashboardState } from "./state.js";

/**
 * The dashboard's HTTP server (node:http) and WebSocket (ws): the page's static files, the API of
 * the migration guide (`GET /api/migration/status`, `GET /api/migration/progress`,
 * `POST /api/migration/checkpoint`) and the controls (`POST /api/migration/{pause,resume,rollback}`),
 * and `/api/migration/events`, which pushes the folded state on every change. The browser never
 * polls the chain: everything it shows comes from the engine's events and the journal on disk.
 */

export interface DashboardServerOptions {
  session: MigrationSession;
  /** The control token (see security.ts); every POST needs it. */
  token: string;
  /** 127.0.0.1 unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The page's directory (dashboard/ in the repository). */
  staticDir: string;
  /** The WebSocket coalesces changes into one message per this many ms. */
  pushIntervalMs?: number;
}

export interface DashboardServer {
  /** `http://host:port/` as bound. */
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

export const DEFAULT_HOST = "127.0.0.1";
export const EVENTS_PATH = "/api/migration/events";
const MAX_BODY_BYTES = 4096;

const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/** Headers on every response: no framing, no sniffing, nothing from elsewhere, nothing cached. */
const COMMON_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cache-Control": "no-store",
};

/** The public status: enough for a monitor to alert on. */
export function statusOf(state: DashboardState, controllable: boolean) {
  return {
    mode: state.mode,
    phase: state.phase,
    message: state.phaseMessage,
    network: state.network,
    controls: controllable ? "token" : "none",
    steps: state.steps.map((view) => ({ step: view.step, status: view.status, percent: view.percent })),
    verified: state.verification === null ? null : state.verification.verified,
    finalized: state.finalized,
    warnings: state.warnings.length,
    errors: state.errors.length,
    updatedAt: state.updatedAt,
  };
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    ...COMMON_HEADERS,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RangeError("body too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text.trim() === "" ? {} : JSON.parse(text);
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const host = options.host ?? DEFAULT_HOST;
  const { session, token } = options;
  const allowed = allowedHostnames(host);
  const pushIntervalMs = options.pushIntervalMs ?? 100;

  async function serveStatic(response: ServerResponse, entry: { file: string; type: string }): Promise<void> {
    const body = await readFile(path.join(options.staticDir, entry.file));
    response.writeHead(200, { ...COMMON_HEADERS, "Content-Type": entry.type, "Content-Length": body.length });
    response.end(body);
  }

  async function control(request: IncomingMessage, response: ServerResponse, action: string): Promise<void> {
    const crossSite = checkSameOrigin(request.headers);
    if (crossSite !== null) return send(response, crossSite.status, { error: crossSite.reason });
    if (!hasToken(request.headers, token)) {
      return send(
        response,
        401,
        { error: "The controls need the dashboard's token: Authorization: Bearer <token>." },
        { "WWW-Authenticate": 'Bearer realm="migration dashboard"' },
      );
    }
    const type = request.headers["content-type"] ?? "";
    if (!/^application\/json\b/.test(type)) {
      return send(response, 415, { error: "Send the request as application/json." });
    }
    let body: unknown;
    try {
      body = await readJsonBody(request);
    } catch {
      return send(response, 400, { error: "The body must be a JSON object of at most 4 KiB." });
    }
    try {
      switch (action) {
        case "checkpoint":
          return send(response, 200, await session.checkpoint());
        case "pause":
          return send(response, 202, { phase: session.pause() });
        case "resume":
          return send(response, 202, { phase: session.resume() });
        case "rollback":
          if ((body as { confirm?: unknown } | null)?.confirm !== "rollback") {
            return send(response, 400, {
              error: 'A rollback takes every batch back to V1: confirm it with the body { "confirm": "rollback" }.',
            });
          }
          return send(response, 202, { phase: session.rollback() });
      }
    } catch (error) {
      if (error instanceof ControlRefused) return send(response, 409, { error: error.message });
      throw error;
    }
    return send(response, 404, { error: "No such control." });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const hostRefusal = checkHost(request.headers, allowed);
    if (hostRefusal !== null) return send(response, hostRefusal.status, { error: hostRefusal.reason });
    const url = new URL(request.url ?? "/", "http://dashboard.invalid");
    const method = request.method ?? "GET";
    const controlMatch = /^\/api\/migration\/(checkpoint|pause|resume|rollback)$/.exec(url.pathname);
    if (controlMatch !== null) {
      if (method !== "POST") return send(response, 405, { error: "Use POST." }, { Allow: "POST" });
      return control(request, response, controlMatch[1]!);
    }
    if (method !== "GET" && method !== "HEAD") return send(response, 405, { error: "Use GET." }, { Allow: "GET" });
    if (url.pathname === "/api/migration/status")
      return send(response, 200, statusOf(session.state, session.controllable));
    if (url.pathname === "/api/migration/progress") return send(response, 200, session.state);
    if (url.pathname === "/favicon.ico") {
      response.writeHead(204, COMMON_HEADERS);
      return void response.end();
    }
    const entry = STATIC_FILES[url.pathname];
    if (entry !== undefined) return serveStatic(response, entry);
    return send(response, 404, { error: "Not found." });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: (error as Error).message });
      else response.destroy();
    });
  });

  // ------------------------------------------------------------ the event stream
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  server.on("upgrade", (request, socket, head) => {
    const url = new URL(request.url ?? "/", "http://dashboard.invalid");
    const refusal =
      url.pathname !== EVENTS_PATH
        ? { status: 404, reason: "Not found." }
        : (checkHost(request.headers, allowed) ?? checkSameOrigin(request.headers));
    if (refusal !== null) {
      socket.end(
        `HTTP/1.1 ${refusal.status} Refused\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${refusal.reason}\n`,
      );
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit("connection", ws, request));
  });
  const stateMessage = () => JSON.stringify({ type: "state", state: session.state });
  sockets.on("connection", (ws: WebSocket) => {
    ws.send(stateMessage());
    // The page only listens; anything it sends is ignored.
    ws.on("message", () => {});
  });
  let pending: NodeJS.Timeout | undefined;
  const unsubscribe = session.subscribe(() => {
    if (pending !== undefined) return;
    pending = setTimeout(() => {
      pending = undefined;
      const message = stateMessage();
      for (const client of sockets.clients) if (client.readyState === client.OPEN) client.send(message);
    }, pushIntervalMs);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    host,
    close: async () => {
      unsubscribe();
      clearTimeout(pending);
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { isLoopback };
