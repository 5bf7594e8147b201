// The migration dashboard's page: renders the state the server pushes over its WebSocket (folded
// there from the engine's events; this page never talks to the chain) and sends the controls with
// the bearer token. Plain DOM, textContent only: nothing from the server is parsed as HTML.

const TOKEN_KEY = "migration-dashboard-token";
const TIMELINE_LIMIT = 200;
const COPY_STEPS = ["nodes", "jobs", "escrow"];

const $ = (id) => document.getElementById(id);
let state = null;
let lastSeq = 0;

// ------------------------------------------------------------ the token
// Printed once at start as a link ending in #token=…: kept for this tab only, removed from the address bar.
function readTokenFromHash() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}
const token = () => sessionStorage.getItem(TOKEN_KEY);

// ------------------------------------------------------------ formatting
const number = (value) => {
  try {
    return BigInt(value).toLocaleString("en-US");
  } catch {
    return String(value);
  }
};
function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
const time = (at) => new Date(at).toLocaleTimeString("en-GB");
const short = (hash) => (hash.length > 18 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function txLink(tx) {
  // A single call (finalize, rollback, a handover grant) says what it does; a batch, its records.
  const what = tx.call === undefined ? `${tx.step} ${tx.size} at ${tx.start}` : `${tx.step}: ${tx.call}`;
  const label = `${what}: ${short(tx.txHash)}`;
  if (tx.url === null) return el("code", { text: label, title: tx.txHash });
  return el("a", { href: tx.url, rel: "noopener noreferrer", target: "_blank", title: tx.txHash, text: label });
}

// ------------------------------------------------------------ rendering
function renderSteps() {
  const list = $("steps");
  list.replaceChildren(
    ...state.steps.map((step) => {
      const label = `${step.step}: ${step.percent}% (${number(step.done)} of ${number(step.total)} ${step.unit})`;
      const bar = el("div", {
        role: "progressbar",
        "aria-label": `${step.step} progress`,
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": String(step.percent),
        "aria-valuetext": label,
        className: "bar",
      });
      const fill = el("div", { className: `fill ${step.status}` });
      fill.style.width = `${step.percent}%`;
      bar.append(fill);
      const copy = COPY_STEPS.includes(step.step);
      const figures = el(
        "dl",
        { className: "figures" },
        el("dt", { text: copy ? "Records" : "Done" }),
        el("dd", { text: `${number(step.done)} / ${number(step.total)} ${step.unit}` }),
      );
      // Batches, gas, rate and ETA belong to the steps that send batches.
      if (copy) {
        figures.append(
          el("dt", { text: "Batches" }),
          el("dd", { text: number(step.batches) }),
          el("dt", { text: "Gas used" }),
          el("dd", { text: number(step.gasUsed) }),
          el("dt", { text: "Rate" }),
          el("dd", { text: step.ratePerSecond === null ? "—" : `${step.ratePerSecond} ${step.unit}/s` }),
          el("dt", { text: "ETA" }),
          el("dd", { text: step.status === "finished" ? "done" : duration(step.etaMs) }),
        );
      }
      return el(
        "li",
        { className: "step", "data-step": step.step, "data-status": step.status },
        el(
          "h3",
          {},
          el("span", { text: step.step }),
          " ",
          el("span", { className: `badge ${step.status}`, text: step.status }),
          " ",
          el("span", { className: "percent", text: `${step.percent}%` }),
        ),
        bar,
        figures,
      );
    }),
  );
  if (state.steps.length === 0) list.append(el("li", { text: "No step has started yet." }));
}

function renderVerification() {
  const v = state.verification;
  const verdict = $("verdict");
  verdict.className = v === null ? "" : v.verified ? "ok" : "bad";
  verdict.textContent =
    v === null
      ? "Not verified yet."
      : v.verified
        ? `verified: V1 at block ${v.v1Block} and V2 at block ${v.v2Block} agree three ways.`
        : `NOT verified: ${v.findings.length} finding(s).`;
  const body = $("commitments").tBodies[0];
  body.replaceChildren(
    ...["nodes", "jobs", "deposits"].map((kind) => {
      const v1 = state.commitments.v1[kind] ?? "—";
      const v2 = state.commitments.v2[kind] ?? "—";
      const agree = v === null ? "—" : v.commitments[kind].agree && v.counts[kind].agree ? "yes" : "no";
      return el(
        "tr",
        {},
        el("th", { scope: "row", text: kind }),
        el("td", {}, el("code", { text: v1 })),
        el("td", {}, el("code", { text: v2 })),
        el("td", { text: agree }),
      );
    }),
  );
  $("findings").replaceChildren(...(v?.findings ?? []).map((finding) => el("li", { text: finding })));
}

function renderTransactions() {
  const list = (id, txs, empty) => {
    const node = $(id);
    node.replaceChildren(...txs.map((tx) => el("li", {}, txLink(tx))));
    if (txs.length === 0) node.append(el("li", { text: empty }));
  };
  list("inflight", state.inFlight, "None.");
  list(
    "recent",
    state.recent.map((tx) => ({ ...tx })),
    "None yet.",
  );
  for (const [i, tx] of state.recent.entries()) {
    const item = $("recent").children[i];
    if (item && tx.blockNumber !== null)
      item.append(` — block ${tx.blockNumber}, ${number(tx.gasUsed)} gas, ${time(tx.confirmedAt)}`);
  }
}

function renderJournal() {
  const { files, problems, readAt } = state.journal;
  const pending = files.reduce((total, file) => total + file.pending.length, 0);
  $("journal-summary").textContent =
    readAt === null
      ? "Not read yet."
      : `${files.length} journal file(s), ${pending} sent-but-unconfirmed transaction(s), read at ${time(readAt)}.`;
  $("journal").replaceChildren(
    ...files.map((file) =>
      el(
        "li",
        {},
        el("code", { text: file.contract }),
        ` (chain ${file.chainId}): ${file.pending.length} pending`,
        ...file.pending.map(
          (entry) =>
            ` · ${entry.call === undefined ? `${entry.step} ${entry.size} at ${entry.cursor}` : `${entry.step}: ${entry.call}`}, nonce ${entry.nonce}`,
        ),
      ),
    ),
    ...problems.map((problem) => el("li", { className: "bad", text: problem })),
  );
}

function renderProblems() {
  const items = [
    ...state.errors.map((e) =>
      el("li", { className: "bad" }, el("strong", { text: "Error " }), `${e.step}: ${e.message}`),
    ),
    ...state.warnings.map((w) =>
      el("li", { className: "warn" }, el("strong", { text: "Warning " }), `${w.step}: ${w.message}`),
    ),
  ];
  $("problems").replaceChildren(...items);
  if (items.length === 0) $("problems").append(el("li", { text: "None." }));
}

function renderTimeline() {
  const list = $("timeline");
  if (state.seq < lastSeq) list.replaceChildren(); // the server restarted: start again
  for (const entry of state.timeline) {
    if (entry.seq <= lastSeq) continue;
    list.append(
      el(
        "li",
        { className: entry.kind },
        el("time", { datetime: new Date(entry.at).toISOString(), text: time(entry.at) }),
        ` ${entry.text}`,
      ),
    );
  }
  while (list.children.length > TIMELINE_LIMIT) list.firstElementChild.remove();
  lastSeq = state.seq;
}

const ALLOWED = {
  pause: ["running"],
  resume: ["idle", "pausing", "paused", "stopped", "failed", "rolled-back"],
  rollback: ["paused", "stopped", "failed"],
  checkpoint: null,
};

function renderControls() {
  const attached = state === null || state.mode === "attach";
  const hasToken = token() !== null;
  $("controls").hidden = attached && state !== null;
  $("readonly-note").hidden = hasToken;
  for (const [action, phases] of Object.entries(ALLOWED)) {
    const allowed = phases === null || phases.includes(state?.phase);
    $(action).disabled = attached || !hasToken || !allowed;
  }
  $("forget").hidden = !hasToken;
}

function render() {
  // The server names the network with its chain (lib/dashboard/networkName.ts).
  $("network").textContent = `Network: ${state.network.name}${state.mode === "attach" ? " — attached read-only" : ""}`;
  const phase = $("phase");
  phase.textContent = `${state.phase}: ${state.phaseMessage}`;
  phase.dataset.phase = state.phase;
  renderControls();
  renderSteps();
  renderVerification();
  renderTransactions();
  renderJournal();
  renderProblems();
  renderTimeline();
}

// ------------------------------------------------------------ the stream
let retry = 500;
function connect() {
  const socket = new WebSocket(
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/migration/events`,
  );
  socket.addEventListener("open", () => {
    retry = 500;
    $("connection").textContent = "live";
    $("connection").className = "badge ok";
  });
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.type !== "state") return;
    state = data.state;
    render();
  });
  socket.addEventListener("close", () => {
    $("connection").textContent = "disconnected: reconnecting";
    $("connection").className = "badge bad";
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10_000);
  });
}

// ------------------------------------------------------------ the controls
async function post(action, body = {}) {
  const result = $("control-result");
  result.textContent = "";
  try {
    const response = await fetch(`/api/migration/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token() ?? ""}` },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      renderControls();
      result.textContent = `Refused: ${answer.error} The page is read-only until a valid token is entered.`;
      return;
    }
    if (!response.ok) {
      result.textContent = `Refused (${response.status}): ${answer.error}`;
      return;
    }
    if (action === "checkpoint") {
      const steps = answer.steps.map((s) => `${s.step} ${s.done}/${s.total}`).join(", ") || "no copy step yet";
      result.textContent = `Checkpoint recorded${answer.file ? ` in ${answer.file}` : ""}: ${steps}.`;
    } else {
      // The phase line above follows what happens next; this line says what the press did.
      result.textContent = `${action} accepted at ${time(Date.now())} (the migration was then ${answer.phase}).`;
    }
  } catch (error) {
    result.textContent = `The request failed: ${error.message}`;
  }
}

function setUp() {
  readTokenFromHash();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (value !== "") sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    $("control-result").textContent = value === "" ? "" : "Token set for this tab.";
    if (state !== null) renderControls();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("control-result").textContent = "Token forgotten: the page is read-only.";
    if (state !== null) renderControls();
  });
  $("pause").addEventListener("click", () => post("pause"));
  $("resume").addEventListener("click", () => post("resume"));
  $("checkpoint").addEventListener("click", () => post("checkpoint"));
  const dialog = $("confirm-rollback");
  $("rollback").addEventListener("click", () => dialog.showModal());
  $("confirm-cancel").addEventListener("click", () => dialog.close());
  $("confirm-rollback-button").addEventListener("click", () => {
    dialog.close();
    post("rollback", { confirm: "rollback" });
  });
  renderControls();
  connect();
}

setUp();
