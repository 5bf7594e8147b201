import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { WebSocket } from "ws";
import { chooseToken, DashboardConfigError, hasToken, isLoopback } from "../../lib/dashboard/security.js";
import { EVENTS_PATH, startDashboardServer, type DashboardServer } from "../../lib/dashboard/server.js";
import { MigrationSession } from "../../lib/dashboard/session.js";
import { initialState, type DashboardState } from "../../lib/dashboard/state.js";
import { request, scriptedDriver, STATIC_DIR, until } from "./helpers.js";

const TOKEN = "a-control-token-for-the-tests-0123456789";
const JSON_TYPE = { "Content-Type": "application/json" };
const BEARER = { Authorization: `Bearer ${TOKEN}` };

interface Setup {
  server: DashboardServer;
  session: MigrationSession;
  driver: ReturnType<typeof scriptedDriver>;
  dir: string;
  url: (p: string) => string;
  post(action: string, headers?: Record<string, string>, body?: string): ReturnType<typeof request>;
}

describe("Dashboard server: API, controls and their guards (plain HTTP and WebSocket)", function () {
  this.timeout(30_000);
  const open: Setup[] = [];

  async function setUp(mode: "run" | "attach" = "run"): Promise<Setup> {
    const dir = await mkdtemp(path.join(tmpdir(), "dashboard-"));
    const driver = scriptedDriver(3);
    const session = new MigrationSession({
      initial: initialState({ mode, network: "test", chainId: 8453, explorer: "https://basescan.org" }),
      ...(mode === "run" ? { driver } : {}),
      journalDir: path.join(dir, "journal"),
    });
    const server = await startDashboardServer({
      session,
      token: TOKEN,
      port: 0,
      staticDir: STATIC_DIR,
      pushIntervalMs: 5,
    });
    const url = (p: string) => new URL(p, server.url).toString();
    const setup: Setup = {
      server,
      session,
      driver,
      dir,
      url,
      post: (action, headers = { ...JSON_TYPE, ...BEARER }, body = "{}") =>
        request(url(`/api/migration/${action}`), { method: "POST", headers, body }),
    };
    open.push(setup);
    return setup;
  }
  /** A run waiting at its first batch. */
  async function paused(): Promise<Setup> {
    const s = await setUp();
    s.session.start({ paused: true });
    await until(() => s.session.state.phase === "paused", "the run to pause");
    return s;
  }

  afterEach(async () => {
    for (const s of open.splice(0)) {
      await s.server.close();
      await rm(s.dir, { recursive: true, force: true });
    }
  });

  it("binds 127.0.0.1 by default and serves the page and the read API without a token", async () => {
    const s = await paused();
    expect(s.server.host).to.equal("127.0.0.1");
    expect(s.server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await request(s.url("/"));
    expect(page.status).to.equal(200);
    expect(page.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).to.include("frame-ancestors 'none'");
    expect(page.body).to.include('role="log"');
    const status = await request(s.url("/api/migration/status"));
    expect(status.status).to.equal(200);
    expect(status.json()).to.deep.include({ mode: "run", phase: "paused", controls: "token", verified: null });
    const progress = (await request(s.url("/api/migration/progress"))).json() as DashboardState;
    expect(progress.steps.map((step) => [step.step, step.done, step.total])).to.deep.equal([["nodes", 0, 3]]);
    expect((await request(s.url("/nowhere"))).status).to.equal(404);
    expect((await request(s.url("/api/migration/status"), { method: "DELETE" })).status).to.equal(405);
  });

  it("controls without the token: 401 and nothing changes; a wrong token: 401", async () => {
    const s = await paused();
    for (const headers of [
      JSON_TYPE as Record<string, string>,
      { ...JSON_TYPE, Authorization: "Bearer wrong" },
      { ...JSON_TYPE, Authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, // same length, last byte differs
      { ...JSON_TYPE, Authorization: `Basic ${TOKEN}` },
    ]) {
      for (const action of ["resume", "pause", "rollback", "checkpoint"]) {
        const answer = await s.post(action, headers, '{"confirm":"rollback"}');
        expect(answer.status, `${action} ${headers.Authorization}`).to.equal(401);
        expect(answer.headers["www-authenticate"]).to.match(/^Bearer/);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.session.state.phase).to.equal("paused");
    expect(s.driver.sent).to.equal(0);
    expect(s.driver.rollbacks).to.equal(0);
  });

  it("the token compare is exact (hashed, constant time)", () => {
    expect(hasToken({ authorization: `Bearer ${TOKEN}` }, TOKEN)).to.equal(true);
    expect(hasToken({ authorization: `Bearer ${TOKEN} ` }, TOKEN)).to.equal(true);
    expect(hasToken({ authorization: `Bearer ${TOKEN}x` }, TOKEN)).to.equal(false);
    expect(hasToken({ authorization: "Bearer " }, "")).to.equal(false);
    expect(hasToken({}, TOKEN)).to.equal(false);
  });

  it("pause, resume and a confirmed rollback with the token", async () => {
    const s = await paused();
    const resumed = await s.post("resume");
    expect([resumed.status, resumed.json()]).to.deep.equal([202, { phase: "running" }]);
    await until(() => s.session.state.phase === "finished", "the run to finish");
    expect(s.driver.sent).to.equal(3);
    // Nothing to pause or roll back once finished.
    expect((await s.post("pause")).status).to.equal(409);
    expect((await s.post("rollback", undefined, '{"confirm":"rollback"}')).status).to.equal(409);

    const t = await paused();
    // A rollback needs its confirmation in the body.
    const unconfirmed = await t.post("rollback");
    expect(unconfirmed.status).to.equal(400);
    expect((unconfirmed.json() as { error: string }).error).to.include('"confirm": "rollback"');
    expect(t.driver.rollbacks).to.equal(0);
    const rolled = await t.post("rollback", undefined, '{"confirm":"rollback"}');
    expect([rolled.status, rolled.json()]).to.deep.equal([202, { phase: "rolling-back" }]);
    await until(() => t.session.state.phase === "rolled-back", "the rollback");
    expect([t.driver.rollbacks, t.driver.sent]).to.deep.equal([1, 0]);
    // The stopped run and the rollback are in the timeline.
    const phases = t.session.state.timeline.filter((entry) => entry.kind === "phase").map((entry) => entry.text);
    expect(phases.some((text) => text.startsWith("stopped:"))).to.equal(true);
    expect(phases.at(-1)).to.match(/^rolled-back:/);
  });

  it("refuses state-changing requests from another site (Origin, Sec-Fetch-Site) with 403, even with the token", async () => {
    const s = await paused();
    const own = `http://127.0.0.1:${s.server.port}`;
    for (const headers of [
      { Origin: "http://evil.example" } as Record<string, string>,
      { Origin: "null" },
      { Origin: `http://127.0.0.1:${s.server.port + 1}` },
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
      { Origin: own, "Sec-Fetch-Site": "cross-site" },
    ]) {
      const answer = await s.post("resume", { ...JSON_TYPE, ...BEARER, ...headers });
      expect(answer.status, JSON.stringify(headers)).to.equal(403);
    }
    expect(s.session.state.phase).to.equal("paused");
    // The page's own requests (same origin) pass.
    const ok = await s.post("pause", { ...JSON_TYPE, ...BEARER, Origin: own, "Sec-Fetch-Site": "same-origin" });
    expect(ok.status).to.equal(202);
    // A form post (text/plain, no preflight) is refused too.
    expect((await s.post("resume", { "Content-Type": "text/plain", ...BEARER })).status).to.equal(415);
    // DNS rebinding: a page served from another name reaching this port.
    const rebound = await request(s.url("/api/migration/status"), {
      headers: { Host: `evil.example:${s.server.port}` },
    });
    expect(rebound.status).to.equal(421);
  });

  it("the WebSocket pushes the state; a foreign Origin or Host is refused", async () => {
    const s = await paused();
    const ws = (origin?: string) =>
      new WebSocket(s.url(EVENTS_PATH).replace("http:", "ws:"), origin === undefined ? {} : { origin });
    const refusal = (socket: WebSocket) =>
      new Promise<number>((resolve, reject) => {
        socket.on("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
        socket.on("open", () => reject(new Error("the socket opened")));
        socket.on("error", () => {});
      });
    expect(await refusal(ws("http://evil.example"))).to.equal(403);
    expect(await refusal(ws(`http://localhost:${s.server.port + 1}`))).to.equal(403);

    const socket = ws(`http://127.0.0.1:${s.server.port}`);
    const states: DashboardState[] = [];
    socket.on("message", (data) => states.push((JSON.parse(String(data)) as { state: DashboardState }).state));
    await until(() => states.length > 0, "the first state");
    expect(states[0]!.phase).to.equal("paused");
    await s.post("resume");
    await until(() => states.at(-1)?.phase === "finished", "the pushed end state");
    const last = states.at(-1)!;
    expect(last.steps[0]).to.deep.include({ step: "nodes", percent: 100, batches: 3, gasUsed: "300000" });
    expect(last.recent[0]!.url).to.equal(`https://basescan.org/tx/0x${"3".padStart(64, "0")}`);
    socket.close();
  });

  it("checkpoint returns the journal position and records it next to the journal", async () => {
    const s = await paused();
    await s.post("resume");
    await until(() => s.session.state.phase === "finished", "the run");
    const answer = await s.post("checkpoint");
    expect(answer.status).to.equal(200);
    const checkpoint = answer.json() as { steps: unknown[]; file: string; journal: { files: unknown[] } };
    expect(checkpoint.steps).to.deep.equal([{ step: "nodes", done: 3, total: 3, batches: 3 }]);
    expect(checkpoint.journal.files).to.deep.equal([]);
    expect(JSON.parse(await readFile(checkpoint.file, "utf8"))).to.deep.equal(checkpoint);
  });

  it("attached read-only: the controls are refused (409), the reads work", async () => {
    const s = await setUp("attach");
    for (const action of ["pause", "resume", "rollback"]) {
      const answer = await s.post(action, undefined, '{"confirm":"rollback"}');
      expect(answer.status, action).to.equal(409);
      expect((answer.json() as { error: string }).error).to.include("read-only");
    }
    expect((await request(s.url("/api/migration/status"))).json()).to.deep.include({
      mode: "attach",
      controls: "none",
    });
    const checkpoint = (await s.post("checkpoint")).json() as { file: string | null };
    expect(checkpoint.file).to.equal(null);
  });

  it("a non-loopback --host needs DASHBOARD_TOKEN (at least 16 characters)", () => {
    expect(isLoopback("127.0.0.1")).to.equal(true);
    expect(isLoopback("::1")).to.equal(true);
    expect(isLoopback("localhost")).to.equal(true);
    expect(isLoopback("0.0.0.0")).to.equal(false);
    expect(isLoopback("192.168.1.5")).to.equal(false);
    expect(() => chooseToken("0.0.0.0", undefined)).to.throw(DashboardConfigError, "DASHBOARD_TOKEN");
    expect(() => chooseToken("0.0.0.0", "short")).to.throw(DashboardConfigError, "at least 16");
    expect(chooseToken("0.0.0.0", TOKEN)).to.deep.equal({ token: TOKEN, source: "config" });
    const generated = chooseToken("127.0.0.1", undefined);
    expect(generated.source).to.equal("generated");
    expect(generated.token).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(chooseToken("127.0.0.1", undefined).token).to.not.equal(generated.token);
  });
});
