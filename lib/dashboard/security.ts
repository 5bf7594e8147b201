import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";

/**
 * The dashboard's guards, as pure functions of a request's headers: who may press a control (a
 * bearer token), and which pages may talk to the server at all (same origin, a Host that names
 * this machine or the host it was told to serve, which defeats DNS rebinding).
 */

/** The configuration variable (environment or `npx hardhat keystore set`) holding the control token. */
export const TOKEN_VARIABLE = "DASHBOARD_TOKEN";
/** A configured token shorter than this is refused: it guards the migration's controls. */
export const MIN_TOKEN_LENGTH = 16;

/** A fresh control token: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Whether `host` (an address or a name given to --host) is the loopback interface. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1";
  return false;
}

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first, so
 * the comparison takes the same time whatever the length or the first differing byte.
 */
export function hasToken(headers: IncomingHttpHeaders, token: string): boolean {
  const header = headers.authorization;
  if (typeof header !== "string") return false;
  const match = /^Bearer ([^\s]+)$/.exec(header.trim());
  const given = createHash("sha256")
    .update(match?.[1] ?? "")
    .digest();
  const expected = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, expected) && match !== null;
}

/** The hostname of a Host header (`name:port`, `[v6]:port`), lower case. */
function hostnameOf(host: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (v6 !== null) return `[${v6[1]!.toLowerCase()}]`;
  return host.replace(/:\d+$/, "").toLowerCase();
}

/**
 * The Host names a request may carry: the loopback names, and the host the server was told to
 * bind. Any port (an SSH tunnel may forward another one); a page served from another name (a
 * rebinding attacker's domain) is refused.
 */
export function allowedHostnames(bindHost: string): Set<string> {
  const names = new Set(["localhost", "127.0.0.1", "[::1]"]);
  const bare = bindHost.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare !== "0.0.0.0" && bare !== "::") names.add(isIP(bare) === 6 ? `[${bare}]` : bare);
  return names;
}

export type Refusal = { status: 403 | 421; reason: string } | null;

/** The Host header names this server (see `allowedHostnames`); 421 otherwise. */
export function checkHost(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): Refusal {
  const host = headers.host;
  if (typeof host !== "string" || !allowed.has(hostnameOf(host))) {
    return { status: 421, reason: `Host ${JSON.stringify(host ?? "")} is not this dashboard's name.` };
  }
  return null;
}

/**
 * A request that may come from a browser page of another site is refused: its `Origin` (when
 * sent) must be this server's own origin, and `Sec-Fetch-Site` (when sent) same-origin or none
 * (typed into the address bar). Clients that send neither (curl, scripts) are not browsers.
 */
export function checkSameOrigin(headers: IncomingHttpHeaders): Refusal {
  const site = headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") {
    return { status: 403, reason: `Cross-site request refused (Sec-Fetch-Site: ${site}).` };
  }
  const origin = headers.origin;
  if (origin !== undefined) {
    const host = headers.host;
    if (typeof host !== "string" || origin !== `http://${host}`) {
      return { status: 403, reason: `Cross-site request refused (Origin: ${origin}).` };
    }
  }
  return null;
}

/** The dashboard could not start as asked: the message says what to do. */
export class DashboardConfigError extends Error {
  override name = "DashboardConfigError";
}

/**
 * The control token: the configured one (`DASHBOARD_TOKEN`), or a fresh one printed once. A
 * dashboard bound to anything but loopback needs a configured token: on an interface others can
 * reach, the secret must be one the operator chose and shares out of band, not a line in a log.
 */
export function chooseToken(
  host: string,
  configured: string | undefined,
): { token: string; source: "config" | "generated" } {
  if (configured !== undefined && configured !== "") {
    if (configured.length < MIN_TOKEN_LENGTH) {
      throw new DashboardConfigError(
        `${TOKEN_VARIABLE} is ${configured.length} characters long: use at least ${MIN_TOKEN_LENGTH} (for example: openssl rand -base64 32).`,
      );
    }
    return { token: configured, source: "config" };
  }
  if (!isLoopback(host)) {
    throw new DashboardConfigError(
      `--host ${host} is reachable from other machines: set the control token first (export ${TOKEN_VARIABLE}=… or npx hardhat keystore set ${TOKEN_VARIABLE}), or keep the default 127.0.0.1 and use an SSH tunnel.`,
    );
  }
  return { token: newToken(), source: "generated" };
}
