import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { chromium, type Browser, type Page } from "playwright-core";

/**
 * The dashboard as an operator uses it: `npx hardhat migrate:dashboard --seed` in its own process
 * (V1 seeded on its in-process chain, blocks every 250 ms so the run takes a few seconds), the
 * page opened in Debian's Chromium driven by playwright-core. Screenshots go to test-results/
 * (not committed).
 */

const ARTIFACTS = path.join(process.cwd(), "test-results");
const COPY_STEPS = ["nodes", "jobs", "escrow"];

/** Debian's chromium (installed by .ci/run); the test fails, not skips, without it. */
function chromiumPath(): string {
  for (const candidate of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (candidate !== undefined && candidate !== "" && existsSync(candidate)) return candidate;
  }
  const which = spawnSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" });
  const found = which.stdout.trim();
  if (which.status === 0 && found !== "") return found;
  throw new Error(
    "Chromium is not installed: the dashboard's browser test needs it. Install Debian's package (apt-get install -y --no-install-recommends chromium; .ci/run does this), or set CHROMIUM_PATH.",
  );
}

interface Dashboard {
  child: ChildProcess;
  url: string;
  token: string;
  output: () => string;
}

/** Starts the task and resolves with its URL and token once it prints them. */
function startDashboard(): Promise<Dashboard> {
  const hardhat = path.join(process.cwd(), "node_modules", ".bin", "hardhat");
  const args = [
    "migrate:dashboard",
    "--seed",
    ...["--nodes", "6", "--jobs", "60", "--users", "8", "--batch-size", "3"],
    ...["--block-time", "250", "--port", "0", "--start-paused"],
  ];
  const child = spawn(hardhat, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DASHBOARD_TOKEN: "" },
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dashboard did not start in time:\n${output}`)), 90_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = /Open with controls: (http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, token: decodeURIComponent(match[2]!), output: () => output });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`migrate:dashboard exited with ${code}:\n${output}`));
    });
  });
}

const phaseOf = (page: Page) => page.locator("#phase").getAttribute("data-phase");
const barValue = async (page: Page, step: string) =>
  Number(await page.locator(`[data-step="${step}"] [role="progressbar"]`).getAttribute("aria-valuenow"));

/**
 * At phone width: every control (buttons, the token field) lies wholly inside the viewport and
 * is not hidden under another element, and each progress bar tells assistive technology the
 * figure the page shows (aria-valuenow = the percentage in its heading, in its valuetext too).
 */
async function checkPhoneWidth(page: Page, screenshot: string): Promise<void> {
  await page.setViewportSize({ width: 360, height: 800 });
  // Evaluated in the page (its DOM globals, which this file's Node types do not declare).
  const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
  expect(overflow, "horizontal overflow at 360 px").to.be.at.most(0);
  const controls = await page.evaluate<{ id: string; left: number; right: number; width: number; clipped: boolean }[]>(`
    [...document.querySelectorAll("#controls button, #controls input")]
      .filter((node) => node.getClientRects().length > 0)
      .map((node) => {
        const box = node.getBoundingClientRect();
        // An ancestor that clips (overflow other than visible) and ends before the control does.
        let clipped = false;
        for (let parent = node.parentElement; parent !== null; parent = parent.parentElement) {
          const style = getComputedStyle(parent);
          if (style.overflowX === "visible") continue;
          const outer = parent.getBoundingClientRect();
          if (box.left < outer.left - 0.5 || box.right > outer.right + 0.5) clipped = true;
        }
        return { id: node.id || node.textContent.trim(), left: box.left, right: box.right, width: box.width, clipped };
      })
  `);
  expect(controls.map((control) => control.id)).to.include.members([
    "pause",
    "resume",
    "checkpoint",
    "rollback",
    "token",
  ]);
  for (const control of controls) {
    expect(control.left, `${control.id} starts inside the viewport`).to.be.at.least(0);
    expect(control.right, `${control.id} ends inside the viewport`).to.be.at.most(360);
    expect(control.width, `${control.id} has a width`).to.be.greaterThan(0);
    expect(control.clipped, `${control.id} is not clipped`).to.equal(false);
  }
  const steps = await page.locator("#steps [data-step]").all();
  expect(steps.length).to.be.greaterThan(0);
  for (const step of steps) {
    const name = await step.getAttribute("data-step");
    const bar = step.locator('[role="progressbar"]');
    expect(await bar.count(), `${name} has one progressbar`).to.equal(1);
    const shown = (await step.locator(".percent").textContent())!;
    const now = await bar.getAttribute("aria-valuenow");
    expect(`${now}%`, `${name}: aria-valuenow is the shown percentage`).to.equal(shown);
    expect([await bar.getAttribute("aria-valuemin"), await bar.getAttribute("aria-valuemax")]).to.deep.equal([
      "0",
      "100",
    ]);
    expect(await bar.getAttribute("aria-valuetext")).to.match(new RegExp(`^${name}: ${now}% `));
    expect(await bar.getAttribute("aria-label")).to.equal(`${name} progress`);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, screenshot), fullPage: true });
}

async function waitForPhase(page: Page, phase: string, timeout = 30_000): Promise<void> {
  await page.locator(`#phase[data-phase="${phase}"]`).waitFor({ timeout });
}

describe("Dashboard in a real browser (headless Chromium, playwright-core)", function () {
  this.timeout(180_000);
  let dashboard: Dashboard | undefined;
  let browser: Browser | undefined;

  before(async () => {
    const executablePath = chromiumPath();
    [dashboard, browser] = await Promise.all([
      startDashboard(),
      chromium.launch({
        executablePath,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
        ],
      }),
    ]);
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    const child = dashboard?.child;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("follows a seeded migration to 100% and verified; pause, rollback (confirmed) and resume with the token; refused without it", async () => {
    const { url, token } = dashboard!;
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      // The refusals this test provokes are logged by Chromium as failed loads; anything else is a fault.
      if (message.type() === "error" && !message.text().includes("status of 401")) pageErrors.push(message.text());
    });

    // ---------------------------------------------------------- read-only without the token
    await page.goto(url);
    await waitForPhase(page, "paused");
    await page.locator("#connection", { hasText: "live" }).waitFor();
    expect(await page.locator("#readonly-note").isVisible()).to.equal(true);
    for (const control of ["#pause", "#resume", "#rollback", "#checkpoint"]) {
      expect(await page.locator(control).isDisabled(), control).to.equal(true);
    }
    // The server refuses the page's own request without the token, and nothing moves.
    const refused = await page.evaluate(async () => {
      const response = await fetch("/api/migration/resume", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      return response.status;
    });
    expect(refused).to.equal(401);
    // A wrong token: the press is refused, the page says so and returns to read-only.
    await page.fill("#token", "not-the-token");
    await page.click("#token-form button[type=submit]");
    await page.click("#resume");
    await page.locator("#control-result", { hasText: /^Refused:/ }).waitFor();
    expect(await page.locator("#resume").isDisabled()).to.equal(true);
    await page.waitForTimeout(600);
    expect(await phaseOf(page)).to.equal("paused");
    for (const step of COPY_STEPS.slice(0, 1)) expect(await barValue(page, step)).to.equal(0);

    // ---------------------------------------------------------- the controls with the token
    await page.fill("#token", token);
    await page.keyboard.press("Enter"); // the form works from the keyboard
    await page.locator("#resume:not([disabled])").waitFor();
    // Rollback asks first; cancelling changes nothing.
    await page.click("#rollback");
    expect(await page.locator("#confirm-rollback").getAttribute("open")).to.not.equal(null);
    await page.click("#confirm-cancel");
    expect(await page.locator("#confirm-rollback").getAttribute("open")).to.equal(null);
    expect(await phaseOf(page)).to.equal("paused");

    await page.click("#resume");
    await page.locator('[data-step="jobs"]').waitFor({ timeout: 30_000 });
    await page.click("#pause");
    await waitForPhase(page, "paused");
    const held = await Promise.all(COPY_STEPS.slice(0, 2).map((step) => barValue(page, step)));
    expect(held[1]).to.be.lessThan(100); // paused inside the jobs step
    await page.waitForTimeout(1_500); // six blocks: nothing is sent while paused
    expect(await Promise.all(COPY_STEPS.slice(0, 2).map((step) => barValue(page, step)))).to.deep.equal(held);
    expect(await page.locator("#inflight").textContent()).to.equal("None.");
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-paused-1280.png"), fullPage: true });
    // Mid-run (bars part-way) at phone width, then back.
    await checkPhoneWidth(page, "dashboard-paused-360.png");
    await page.setViewportSize({ width: 1280, height: 800 });

    // ---------------------------------------------------------- a confirmed rollback, then again
    await page.click("#rollback");
    await page.click("#confirm-rollback-button");
    expect(await page.locator("#confirm-rollback").getAttribute("open")).to.equal(null);
    await waitForPhase(page, "rolled-back", 60_000);
    await page
      .locator("#control-result", {
        hasText: /^rollback accepted at \d\d:\d\d:\d\d \(the migration was then rolling-back\)\.$/,
      })
      .waitFor();
    const rolledBack = (await page.locator("#timeline li").allTextContents()).join("\n");
    expect(rolledBack).to.include("every batch is back in V1");
    // What moved is back in V1: the copy bars say so, at 0.
    for (const step of COPY_STEPS.slice(0, 2)) {
      expect(await page.locator(`[data-step="${step}"]`).getAttribute("data-status"), step).to.equal("rolled-back");
      expect(await barValue(page, step), step).to.equal(0);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-rolled-back-1280.png"), fullPage: true });

    // Resume after a rollback starts the migration again from V1.
    await page.click("#resume");
    await waitForPhase(page, "finished", 60_000);
    expect(await page.locator("#verdict").textContent()).to.match(/^verified: /);
    for (const step of COPY_STEPS) expect(await barValue(page, step), step).to.equal(100);
    expect(await page.locator("#commitments tbody tr").count()).to.equal(3);
    expect(await page.locator("#commitments tbody td", { hasText: "no" }).count()).to.equal(0);
    expect(await page.locator("#recent li code").count()).to.be.greaterThan(0); // a local chain: hashes, no links
    const timeline = await page.locator("#timeline li").allTextContents();
    expect(timeline.some((line) => line.includes("paused:"))).to.equal(true);
    expect(timeline.some((line) => line.includes("verify finished: verified"))).to.equal(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-1280.png"), fullPage: true });

    // ---------------------------------------------------------- phone width
    await checkPhoneWidth(page, "dashboard-360.png");
    expect(pageErrors).to.deep.equal([]);
  });
});
