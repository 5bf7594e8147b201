import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import {
  ApiConflictError,
  ApiFileError,
  ApiMigrationError,
  ENDPOINTS,
  SHAPES,
  beforeAndAfter,
  downgradeRequest,
  downgradeResponse,
  formatPath,
  leaves,
  migrateRequest,
  migrateResponse,
  parseExchange,
  parseResponse,
  syntaxErrorOffset,
  type ApiRequest,
  type MigrationReport,
} from "../../lib/api/index.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";

const run = promisify(execFile);
const BASE = "https://api.fabstir.com";
const TOKEN = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const HOST = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

const post = (body: Record<string, unknown>, headers: Record<string, string> = {}): ApiRequest => ({
  method: "POST",
  url: `${BASE}/v1/jobs`,
  headers,
  body,
});

/** Reads a path as formatPath writes it (`$.body["x-v1-unmapped"].a[0]`). */
function parsePath(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  const token = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  token.lastIndex = 1;
  while (token.lastIndex < text.length) {
    const match = token.exec(text);
    if (match === null) throw new Error(`bad path ${text}`);
    out.push(match[1] ?? (match[2] !== undefined ? Number(match[2]) : JSON.parse(match[3]!)));
  }
  return out;
}

function at(root: unknown, pathText: string): unknown {
  let current = root;
  for (const key of parsePath(pathText)) current = (current as Record<string | number, unknown> | undefined)?.[key];
  return current;
}

/**
 * Where the report says the input leaf at `leafPath` went, checked against the output: through a
 * rename or move of it or of an enclosing field, into a deprecated entry, or under the unknown marker.
 */
function leafIsAccountedFor(
  output: unknown,
  report: MigrationReport,
  leafPath: (string | number)[],
  value: unknown,
): boolean {
  for (let length = leafPath.length; length >= 1; length--) {
    const prefix = formatPath(leafPath.slice(0, length));
    const rest = leafPath.slice(length);
    const restText = formatPath(rest).slice(1);
    for (const entry of [...report.renamed, ...report.moved]) {
      if (entry.from === prefix) return expectEqual(at(output, entry.to + restText), value);
    }
    for (const entry of report.deprecated) {
      if (entry.path !== prefix) continue;
      if (entry.replacement !== undefined) return expectEqual(at(output, entry.replacement + restText), value);
      return expectEqual(at(entry.value, "$" + restText), value);
    }
  }
  const exact = formatPath(leafPath);
  const unknown = report.unknown.find((entry) => entry.path === exact);
  if (unknown !== undefined) return expectEqual(at(output, unknown.keptAt), value) && expectEqual(unknown.value, value);
  return expectEqual(at(output, exact), value); // a field already in v2 form stays where it is
}

function expectEqual(actual: unknown, expected: unknown): boolean {
  expect(actual).to.deep.equal(expected);
  return true;
}

describe("api:migrate (lib/api)", () => {
  describe("requests: body renames and nesting", () => {
    const samples: Record<string, unknown> = {
      model_id: "llama-3-8b",
      prompt: "Say hi",
      max_tokens: 256,
      temperature: 0.7,
      top_p: 0.9,
      stop: ["\n\n", "END"],
      payment_amount: "1000000000000000000",
      payment_token: TOKEN,
      node_id: HOST,
      deadline: 1_800_000_000,
      callback_url: "https://example.com/done",
      metadata: { project: "demo", tags: ["a"] },
    };

    for (const rule of SHAPES.jobCreate.fields) {
      it(`maps ${rule.v1} to ${rule.v2} with the same value`, () => {
        const value = samples[rule.v1];
        const { request, report } = migrateRequest(post({ [rule.v1]: value }));
        expect(at(request.body, `$.${rule.v2}`)).to.deep.equal(value);
        expect(Object.keys(request.body!)).to.deep.equal([rule.v2.split(".")[0]]);
        const entry = { from: `$.body.${rule.v1}`, to: `$.body.${rule.v2}` };
        if (rule.v1 === rule.v2) {
          expect(report.renamed).to.deep.equal([]);
          expect(report.moved).to.deep.equal([]);
        } else if (rule.v2.includes(".")) {
          expect(report.moved).to.deep.equal([entry]);
        } else {
          expect(report.renamed).to.deep.equal([entry]);
        }
      });
    }

    it("nests the sampling parameters and the payment in one v2 job", () => {
      const { request, report } = migrateRequest(post(samples, { "X-API-Key": "key-1" }));
      expect(request).to.deep.equal({
        method: "POST",
        url: `${BASE}/v2/jobs`,
        headers: { Authorization: "Bearer key-1" },
        body: {
          modelId: "llama-3-8b",
          prompt: "Say hi",
          parameters: { maxTokens: 256, temperature: 0.7, topP: 0.9, stop: ["\n\n", "END"] },
          payment: { amount: "1000000000000000000", token: TOKEN },
          hostId: HOST,
          deadline: 1_800_000_000,
          callbackUrl: "https://example.com/done",
          metadata: { project: "demo", tags: ["a"] },
        },
      });
      expect(report.endpoint).to.deep.equal({ from: "POST /v1/jobs", to: "POST /v2/jobs" });
      expect(report.deprecated).to.deep.equal([]);
      expect(report.unknown).to.deep.equal([]);
    });

    it("accepts fields already in v2 form and leaves them where they are", () => {
      const { request, report } = migrateRequest(post({ modelId: "m", parameters: { maxTokens: 5 }, max_tokens: 5 }));
      expect(request.body).to.deep.equal({ modelId: "m", parameters: { maxTokens: 5 } });
      expect(report.unknown).to.deep.equal([]);
    });
  });

  describe("endpoints and query strings", () => {
    const cases: [string, string, string][] = [
      ["POST", "/v1/jobs", "/v2/jobs"],
      ["GET", "/v1/jobs", "/v2/jobs"],
      ["GET", "/v1/jobs/42", "/v2/jobs/42"],
      ["POST", "/v1/jobs/job%2F7/cancel", "/v2/jobs/job%2F7/cancel"],
      ["GET", "/v1/nodes", "/v2/hosts"],
      ["GET", `/v1/nodes/${HOST}`, `/v2/hosts/${HOST}`],
      ["GET", "/v1/models", "/v2/models"],
      ["GET", `/v1/balance/${HOST}`, `/v2/accounts/${HOST}/balance`],
    ];
    for (const [method, v1, v2] of cases) {
      it(`${method} ${v1} → ${method} ${v2}, and back`, () => {
        const { request } = migrateRequest({ method, url: `${BASE}${v1}`, headers: {} });
        expect(request.url).to.equal(`${BASE}${v2}`);
        expect(downgradeRequest(request).request.url).to.equal(`${BASE}${v1}`);
      });
    }

    it("names each endpoint template in the report", () => {
      expect(migrateRequest({ method: "get", url: `${BASE}/v1/jobs/9`, headers: {} }).report.endpoint).to.deep.equal({
        from: "GET /v1/jobs/{job_id}",
        to: "GET /v2/jobs/{id}",
      });
    });

    it("refuses a removed endpoint with the reason, and an unknown one with the known list", () => {
      expect(() => migrateRequest({ method: "POST", url: `${BASE}/v1/jobs/3/retry`, headers: {} })).to.throw(
        ApiMigrationError,
        "$.url: POST /v1/jobs/{job_id}/retry has no v2 endpoint: V2 has no retry",
      );
      expect(() => migrateRequest({ method: "DELETE", url: `${BASE}/v1/jobs/3`, headers: {} })).to.throw(
        ApiMigrationError,
        "$.url: DELETE /v1/jobs/3 is not a v1 endpoint of the Fabstir API; the known ones are POST /v1/jobs, GET /v1/jobs",
      );
      expect(() => migrateRequest({ method: "GET", url: "/v1/jobs", headers: {} })).to.throw(
        ApiMigrationError,
        '$.url: "/v1/jobs" is not an absolute URL',
      );
    });

    it("renames query parameters, keeps unknown ones in place and reports them", () => {
      const { request, report } = migrateRequest({
        method: "GET",
        url: `${BASE}/v1/jobs?status=completed&user=${HOST}&page_size=20&sort=desc#top`,
        headers: {},
      });
      expect(request.url).to.equal(`${BASE}/v2/jobs?status=completed&owner=${HOST}&pageSize=20&sort=desc#top`);
      expect(report.renamed).to.deep.equal([
        { from: "$.query.user", to: "$.query.owner" },
        { from: "$.query.page_size", to: "$.query.pageSize" },
      ]);
      expect(report.unknown).to.deep.equal([{ path: "$.query.sort", value: "desc", keptAt: "$.query.sort" }]);
      const back = downgradeRequest(request).request.url;
      expect(back).to.equal(`${BASE}/v1/jobs?status=completed&user=${HOST}&page_size=20&sort=desc#top`);
    });

    it("refuses a repeated query parameter and a bad query value", () => {
      expect(() => migrateRequest({ method: "GET", url: `${BASE}/v1/nodes?page=1&page=2`, headers: {} })).to.throw(
        ApiMigrationError,
        "$.query.page: repeated query parameter",
      );
      expect(() => migrateRequest({ method: "GET", url: `${BASE}/v1/nodes?page_size=0`, headers: {} })).to.throw(
        ApiMigrationError,
        '$.query.page_size: expected a positive integer (got "0")',
      );
    });
  });

  describe("auth", () => {
    it("turns X-API-Key into Authorization: Bearer in place, whatever the header's case", () => {
      const { request, report } = migrateRequest(
        post({}, { Accept: "application/json", "x-api-key": " k1 ", "User-Agent": "app" }),
      );
      expect(request.headers).to.deep.equal({
        Accept: "application/json",
        Authorization: "Bearer k1",
        "User-Agent": "app",
      });
      expect(Object.keys(request.headers)).to.deep.equal(["Accept", "Authorization", "User-Agent"]);
      expect(report.renamed).to.deep.equal([{ from: '$.headers["x-api-key"]', to: "$.headers.Authorization" }]);
    });

    it("accepts the same credential given both ways once, and refuses two different ones", () => {
      const same = migrateRequest(post({}, { "X-API-Key": "k1", authorization: "Bearer k1" }));
      expect(same.request.headers).to.deep.equal({ Authorization: "Bearer k1" });
      expect(() => migrateRequest(post({}, { "X-API-Key": "k1", Authorization: "Bearer k2" }))).to.throw(
        ApiConflictError,
        '$.headers["X-API-Key"] and $.headers.Authorization give different credentials',
      );
    });

    it("downgrades only a Bearer credential, and refuses an empty key or a header given twice", () => {
      const down = downgradeRequest({
        method: "GET",
        url: `${BASE}/v2/models`,
        headers: { Authorization: "Bearer k9" },
      });
      expect(down.request.headers).to.deep.equal({ "X-API-Key": "k9" });
      expect(() =>
        downgradeRequest({ method: "GET", url: `${BASE}/v2/models`, headers: { Authorization: "Basic dTpw" } }),
      ).to.throw(ApiMigrationError, '$.headers.Authorization: only "Bearer <key>" has a v1 form');
      expect(() => migrateRequest(post({}, { "X-API-Key": "  " }))).to.throw(
        ApiMigrationError,
        '$.headers["X-API-Key"]: the API key is empty',
      );
      expect(() => migrateRequest(post({}, { accept: "a", Accept: "b" }))).to.throw(
        ApiMigrationError,
        "$.headers.Accept: the header accept is given twice",
      );
    });
  });

  describe("deprecated and unknown fields", () => {
    it("moves a deprecated alias to its replacement and reports it", () => {
      const { request, report } = migrateRequest(post({ model: "m1" }));
      expect(request.body).to.deep.equal({ modelId: "m1" });
      expect(report.deprecated).to.deep.equal([
        { path: "$.body.model", value: "m1", reason: "v1.0 alias of model_id", replacement: "$.body.modelId" },
      ]);
    });

    it("reports a deprecated field without a replacement with its value and reason", () => {
      const { request, report } = migrateRequest(post({ priority: { level: 3 }, stream: true, prompt: "p" }));
      expect(request.body).to.deep.equal({ prompt: "p" });
      expect(report.deprecated.map((entry) => [entry.path, entry.value])).to.deep.equal([
        ["$.body.priority", { level: 3 }],
        ["$.body.stream", true],
      ]);
      expect(report.deprecated[1]!.reason).to.include("GET /v2/jobs/{id}/events");
    });

    it("keeps unknown fields under x-v1-unmapped, reports every leaf, and downgrading puts them back", () => {
      const v1 = post({ prompt: "p", seed: 7, extra: { a: [1, 2], b: {} }, parameters: { beam: 2 } });
      const { request, report } = migrateRequest(v1);
      expect(request.body).to.deep.equal({
        prompt: "p",
        "x-v1-unmapped": { seed: 7, extra: { a: [1, 2], b: {} }, parameters: { beam: 2 } },
      });
      expect(report.unknown).to.deep.equal([
        { path: "$.body.seed", value: 7, keptAt: '$.body["x-v1-unmapped"].seed' },
        { path: "$.body.extra.a", value: [1, 2], keptAt: '$.body["x-v1-unmapped"].extra.a' },
        { path: "$.body.extra.b", value: {}, keptAt: '$.body["x-v1-unmapped"].extra.b' },
        { path: "$.body.parameters.beam", value: 2, keptAt: '$.body["x-v1-unmapped"].parameters.beam' },
      ]);
      expect(downgradeRequest(request).request).to.deep.equal(v1);
    });

    it("keeps v2-only fields under x-v2-unmapped when downgrading, and restores them when upgrading", () => {
      const v2: ApiRequest = {
        method: "POST",
        url: `${BASE}/v2/jobs`,
        headers: {},
        body: { modelId: "m", tools: ["x"] },
      };
      const down = downgradeRequest(v2);
      expect(down.request.body).to.deep.equal({ model_id: "m", "x-v2-unmapped": { tools: ["x"] } });
      expect(down.report.unknown).to.deep.equal([
        { path: "$.body.tools", value: ["x"], keptAt: '$.body["x-v2-unmapped"].tools' },
      ]);
      expect(migrateRequest(down.request).request).to.deep.equal(v2);
    });

    it("refuses unknown fields with unknown: refuse, naming each", () => {
      expect(() => migrateRequest(post({ seed: 1, x: { y: 2 } }), { unknown: "refuse" })).to.throw(
        ApiMigrationError,
        "unknown fields (refused): $.body.seed, $.body.x.y",
      );
    });
  });

  describe("conflicts and wrong types", () => {
    it("refuses model_id and modelId with different values, naming both", () => {
      expect(() => migrateRequest(post({ model_id: "a", modelId: "b" }))).to.throw(
        ApiConflictError,
        '$.body.model_id ("a") and $.body.modelId ("b") both give $.body.modelId in v2, with different values',
      );
      expect(() => migrateRequest(post({ model: "a", model_id: "b" }))).to.throw(
        ApiConflictError,
        '$.body.model_id ("b") and $.body.model ("a") both give $.body.modelId',
      );
      expect(() => migrateRequest(post({ max_tokens: 5, parameters: { maxTokens: 6 } }))).to.throw(
        ApiConflictError,
        "$.body.max_tokens (5) and $.body.parameters.maxTokens (6)",
      );
    });

    it("refuses a kept field that would land on a mapped one", () => {
      const v2: ApiRequest = {
        method: "POST",
        url: `${BASE}/v2/jobs`,
        headers: {},
        body: { modelId: "a", "x-v1-unmapped": { model_id: "b" } },
      };
      expect(() => downgradeRequest(v2)).to.throw(
        ApiConflictError,
        '$.body["x-v1-unmapped"].model_id and a mapped field both give $.body.model_id in v1',
      );
    });

    it("names the JSON path of a value of the wrong type", () => {
      expect(() => migrateRequest(post({ max_tokens: "100" }))).to.throw(
        ApiMigrationError,
        '$.body.max_tokens: Expected number, received string (got "100")',
      );
      expect(() => migrateRequest(post({ stop: ["a", 3] }))).to.throw(
        ApiMigrationError,
        "$.body.stop[1]: Expected string",
      );
      expect(() => migrateRequest(post({ payment_amount: 2 ** 60 }))).to.throw(
        ApiMigrationError,
        "$.body.payment_amount: above 2^53 a JSON number loses digits: quote it",
      );
      expect(() => migrateRequest(post({ payment_token: "0x12" }))).to.throw(
        ApiMigrationError,
        "$.body.payment_token: expected a 0x-prefixed 20-byte address",
      );
    });
  });

  describe("responses", () => {
    const job = {
      job_id: "42",
      status: "completed",
      model_id: "llama-3-8b",
      result: "Hi!",
      assigned_node: HOST,
      payment_amount: "5000",
      payment_token: TOKEN,
      tokens_used: 12,
      created_at: "2026-01-02T03:04:05Z",
      completed_at: "2026-01-02T03:05:00Z",
    };
    const v2Job = {
      id: "42",
      status: "completed",
      modelId: "llama-3-8b",
      output: "Hi!",
      assignedHost: HOST,
      payment: { amount: "5000", token: TOKEN },
      usage: { totalTokens: 12 },
      createdAt: "2026-01-02T03:04:05Z",
      completedAt: "2026-01-02T03:05:00Z",
    };

    it("renames a job (job_id → id, created_at → createdAt, assigned_node → assignedHost…)", () => {
      const { response, report } = migrateResponse(
        { status: 200, headers: { "Content-Type": "application/json" }, body: job },
        { method: "GET", url: `${BASE}/v1/jobs/42` },
      );
      expect(response).to.deep.equal({ status: 200, headers: { "Content-Type": "application/json" }, body: v2Job });
      expect(report.renamed).to.deep.include({ from: "$.body.job_id", to: "$.body.id" });
      expect(report.renamed).to.deep.include({ from: "$.body.created_at", to: "$.body.createdAt" });
      expect(report.renamed).to.deep.include({ from: "$.body.assigned_node", to: "$.body.assignedHost" });
      expect(report.moved).to.deep.include({ from: "$.body.tokens_used", to: "$.body.usage.totalTokens" });
    });

    it("maps list elements one by one, reporting their own paths, and downgrades back", () => {
      const body = { jobs: [job, { ...job, job_id: "43", node_url: "https://h", shard: 2 }], total: 2, page: 1 };
      const request = { method: "GET", url: `${BASE}/v1/jobs?page=1` };
      const { response, report } = migrateResponse({ status: 200, headers: {}, body }, request);
      expect(response.body).to.deep.equal({
        items: [v2Job, { ...v2Job, id: "43", "x-v1-unmapped": { shard: 2 } }],
        pagination: { total: 2, page: 1 },
      });
      expect(report.renamed).to.deep.include({ from: "$.body.jobs[1].job_id", to: "$.body.items[1].id" });
      expect(report.deprecated).to.deep.equal([
        {
          path: "$.body.jobs[1].node_url",
          value: "https://h",
          reason: "V2 does not copy the host's URL into the job: GET /v2/hosts/{id} with assignedHost",
        },
      ]);
      expect(report.unknown).to.deep.equal([
        { path: "$.body.jobs[1].shard", value: 2, keptAt: '$.body.items[1]["x-v1-unmapped"].shard' },
      ]);
      const v2Request = migrateRequest({ ...request, headers: {} }).request;
      const back = downgradeResponse(response, v2Request).response.body;
      expect(back).to.deep.equal({ ...body, jobs: [job, { ...job, job_id: "43", shard: 2 }] });
    });

    it("uses the error shape for a status of 400 or more", () => {
      const { response } = migrateResponse(
        { status: 404, headers: {}, body: { error: "no such job", code: "JOB_NOT_FOUND" } },
        { method: "GET", url: `${BASE}/v1/jobs/1` },
      );
      expect(response.body).to.deep.equal({ error: { message: "no such job", code: "JOB_NOT_FOUND" } });
      const back = downgradeResponse(response, { method: "GET", url: `${BASE}/v2/jobs/1` });
      expect(back.response.body).to.deep.equal({ error: "no such job", code: "JOB_NOT_FOUND" });
    });

    it("names the element of a list that is wrong", () => {
      const request = { method: "GET", url: `${BASE}/v1/nodes` };
      expect(() =>
        migrateResponse({ status: 200, headers: {}, body: { nodes: [{ node_id: HOST }, 3] } }, request),
      ).to.throw(ApiMigrationError, "$.body.nodes[1]: expected an object (got 3)");
      expect(() =>
        migrateResponse({ status: 200, headers: {}, body: { nodes: [{ last_seen: "yesterday" }] } }, request),
      ).to.throw(ApiMigrationError, "$.body.nodes[0].last_seen: Invalid datetime");
      expect(() => migrateResponse({ status: 200, headers: {}, body: [] }, request)).to.throw(
        ApiMigrationError,
        "$.body: expected a JSON object (got [])",
      );
    });
  });

  describe("files", () => {
    it("reads a request file and a { request, response } pair", () => {
      const request = { method: "post", url: `${BASE}/v1/jobs`, body: { prompt: "p" } };
      expect(parseExchange("r.json", JSON.stringify(request))).to.deep.equal({
        request: { method: "POST", url: `${BASE}/v1/jobs`, headers: {}, body: { prompt: "p" } },
      });
      const pair = parseExchange("p.json", JSON.stringify({ request, response: { body: { job_id: "1" } } }));
      expect(pair.response).to.deep.equal({ status: 200, headers: {}, body: { job_id: "1" } });
    });

    it("gives the line and column of invalid JSON", () => {
      expect(() => parseExchange("bad.json", '{\n  "method": "GET",\n  "url": }')).to.throw(
        ApiFileError,
        /^bad\.json:3:10: invalid JSON: unexpected "}"/,
      );
      expect(() => parseExchange("cut.json", '{\n  "method": "GET"')).to.throw(
        ApiFileError,
        "cut.json:2:18: invalid JSON: unexpected end of file",
      );
    });

    it("the syntax scan finds the offset JSON.parse names, and accepts what it accepts", () => {
      const mutated = fc
        .tuple(fc.json(), fc.nat(), fc.constantFrom("", ",", "}", "]", '"', ":", "x", "\\", "0", " "))
        .map(([text, at, insert]) => {
          const cut = at % (text.length + 1);
          return text.slice(0, cut) + insert + text.slice(cut + (at % 2));
        });
      fc.assert(
        fc.property(mutated, (text) => {
          let position: number | undefined;
          try {
            JSON.parse(text);
            position = text.length;
          } catch (error) {
            const match = /at position (\d+)/.exec((error as Error).message);
            if (match !== null) position = Number(match[1]);
          }
          if (position !== undefined) expect(syntaxErrorOffset(text)).to.equal(position);
        }),
        { numRuns: 500 },
      );
    });

    it("names the JSON path of each wrong type, and refuses an empty file", () => {
      const text = JSON.stringify({ method: "FETCH", url: "nope", headers: { "X-API-Key": 5 }, body: [], extra: 1 });
      let message = "";
      try {
        parseExchange("req.json", text);
      } catch (error) {
        expect(error).to.be.instanceOf(ApiFileError);
        message = (error as Error).message;
      }
      expect(message).to.include("req.json: ");
      expect(message).to.include("$.method: Invalid enum value");
      expect(message).to.include("$.url: Invalid url");
      expect(message).to.include('$.headers["X-API-Key"]: Expected string, received number');
      expect(message).to.include("$.body: Expected object, received array");
      expect(message).to.include("$: Unrecognized key(s) in object: 'extra'");
      expect(() => parseExchange("empty.json", " \n")).to.throw(ApiFileError, "empty.json: the file is empty");
      expect(() => parseResponse("res.json", JSON.stringify({ status: 99, body: {} }))).to.throw(
        ApiFileError,
        "res.json: $.status: Number must be greater than or equal to 100",
      );
      expect(() => parseResponse("res.json", JSON.stringify({ status: 200 }))).to.throw(
        ApiFileError,
        "$.body: Required",
      );
    });
  });

  describe("codegen", () => {
    let temp = "";
    before(async () => {
      temp = await mkdtemp(path.join(tmpdir(), "api-codegen-"));
    });
    after(async () => {
      await rm(temp, { recursive: true, force: true });
    });

    const requests: ApiRequest[] = [
      post(
        {
          model_id: "llama-3-8b",
          prompt: "Quotes \" \\ `${x}` 'single' \n newline, unicode é 日本 \u2028, null-ish",
          max_tokens: 64,
          stop: [],
          metadata: { nested: { ok: true, none: null, n: -1.5e-7 } },
          odd: { "key with spaces": false },
        },
        { "X-API-Key": "k", Accept: "application/json" },
      ),
      { method: "GET", url: `${BASE}/v1/jobs?user=${HOST}&page=2`, headers: {} },
    ];

    for (const [index, v1] of requests.entries()) {
      it(`JS and Python snippets of request ${index} compile, before and after, and carry the request`, async () => {
        const v2 = migrateRequest(v1).request;
        const js = beforeAndAfter("js", v1, v2);
        const py = beforeAndAfter("python", v1, v2);
        for (const [name, text] of [
          ["before.js", js.before],
          ["after.js", js.after],
          ["before.py", py.before],
          ["after.py", py.after],
        ] as const) {
          const file = path.join(temp, `${index}-${name}`);
          await writeFile(file, text);
          if (name.endsWith(".js")) await run(process.execPath, ["--check", file]);
          else await run("python3", ["-m", "py_compile", file]);
        }
        expect(js.before).to.include(JSON.stringify(v1.url));
        expect(js.after).to.include(JSON.stringify(v2.url));
        expect(py.after).to.include(JSON.stringify(v2.url));
        if (v1.body !== undefined) {
          // The JS body literal is the request's body, evaluated.
          const literal = /body: JSON\.stringify\(([\s\S]*)\),\n {2}\}\);/.exec(js.after)![1]!;
          expect(JSON.parse(literal)).to.deep.equal(v2.body);
          expect(js.before).to.include("process.env.FABSTIR_API_KEY");
          expect(js.after).to.include("`Bearer ${process.env.FABSTIR_API_KEY}`");
          expect(py.after).to.include('"Bearer " + os.environ["FABSTIR_API_KEY"]');
          expect(py.after).to.include("True").and.include("None");
          expect(js.after).not.to.include('"k"'); // the key itself stays out of the code
        }
      });
    }

    it("Go snippets have the shape of a net/http program (Go is not installed: shape only)", () => {
      for (const v1 of requests) {
        const v2 = migrateRequest(v1).request;
        for (const text of Object.values(beforeAndAfter("go", v1, v2))) {
          expect(text).to.match(/^\/\/ Fabstir API v[12]: (GET|POST) \/v[12]\/\S+\npackage main\n\nimport \(\n/);
          const imports = [...text.matchAll(/^\t"([\w/]+)"$/gm)].map((match) => match[1]!);
          // Go refuses unused imports: each one is used.
          for (const name of imports) expect(text).to.include(`${name.split("/").pop()}.`);
          expect(text.split("{").length).to.equal(text.split("}").length);
          const body =
            /http\.NewRequest\("(GET|POST)", "([^"]*)", (nil|strings\.NewReader\("((?:[^"\\]|\\.)*)"\))\)/.exec(text)!;
          const literal = body[4];
          if (literal === undefined) {
            expect(v1.body).to.equal(undefined);
            continue;
          }
          // Undo the literal's \xNN escapes and check it is the request's JSON.
          const bytes = literal.replace(/\\x([0-9a-f]{2})|\\(["\\])/g, (_, hex, char) =>
            hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : char,
          );
          const decoded = JSON.parse(Buffer.from(bytes, "latin1").toString("utf8"));
          expect([v1.body, v2.body]).to.deep.include(decoded);
        }
      }
    });
  });

  describe("properties", () => {
    const key = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);
    const token = fc.stringMatching(/^0x[0-9a-f]{40}$/);
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
    const pageNumber = fc.integer({ min: 1, max: 10_000 }).map(String);
    const jobCreate = fc.record(
      {
        model_id: fc.string({ minLength: 1 }),
        prompt: fc.string(),
        max_tokens: fc.integer({ min: 1, max: 1_000_000 }),
        temperature: fc.double({ min: 0, max: 2, noNaN: true }),
        top_p: fc.double({ min: 0, max: 1, noNaN: true }),
        stop: fc.array(fc.string()),
        payment_amount: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 256n }).map(String), fc.nat()),
        payment_token: token,
        node_id: token,
        deadline: fc.nat(),
        callback_url: fc.webUrl(),
        metadata: fc.dictionary(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const queries: Record<string, fc.Arbitrary<Record<string, string>>> = {
      jobQuery: fc.record(
        { status: fc.string(), user: token, node_id: token, page: pageNumber, page_size: pageNumber },
        { requiredKeys: [] },
      ),
      hostQuery: fc.record(
        {
          model_id: fc.string(),
          region: fc.string(),
          active: fc.constantFrom("true", "false"),
          page: pageNumber,
          page_size: pageNumber,
        },
        { requiredKeys: [] },
      ),
    };

    /** A v1 request made only of mapped fields, on any endpoint. */
    const mappedRequest = fc
      .constantFrom(...ENDPOINTS)
      .chain((endpoint) =>
        fc.record({
          endpoint: fc.constant(endpoint),
          ids: fc.array(segment, { minLength: 2, maxLength: 2 }),
          query: endpoint.query === undefined ? fc.constant({}) : queries[endpoint.query]!,
          body: endpoint.body === undefined ? fc.constant(undefined) : jobCreate,
          apiKey: fc.option(key, { nil: undefined }),
          accept: fc.boolean(),
        }),
      )
      .map(({ endpoint, ids, query, body, apiKey, accept }): ApiRequest => {
        let index = 0;
        const pathname = endpoint.v1.replace(/\{[^}]+\}/g, () => ids[index++]!);
        const search = new URLSearchParams(query).toString();
        const headers: Record<string, string> = {};
        if (accept) headers.Accept = "application/json";
        if (apiKey !== undefined) headers["X-API-Key"] = apiKey;
        const request: ApiRequest = {
          method: endpoint.method,
          url: `${BASE}${pathname}${search && `?${search}`}`,
          headers,
        };
        if (body !== undefined) request.body = body;
        return request;
      });

    it("upgrading then downgrading a v1 request made only of mapped fields gives it back", () => {
      fc.assert(
        fc.property(mappedRequest, (v1) => {
          const up = migrateRequest(v1, { unknown: "refuse" });
          expect(up.report.deprecated).to.deep.equal([]);
          expect(downgradeRequest(up.request).request).to.deep.equal(v1);
        }),
        { numRuns: 300 },
      );
    });

    it("no v1 field is lost: every input leaf is in the output or in the report", () => {
      const extraName = fc.stringMatching(/^[a-z][a-z_]{0,8}$/).filter((name) => name !== "model" && name !== "stream");
      const withExtras = fc.record({
        request: mappedRequest.filter((request) => request.method === "POST" && request.body !== undefined),
        extras: fc.dictionary(extraName, fc.jsonValue(), { maxKeys: 4 }),
        deprecated: fc.record(
          { model: fc.string({ minLength: 1 }), priority: fc.jsonValue(), stream: fc.boolean() },
          { requiredKeys: [] },
        ),
      });
      fc.assert(
        fc.property(withExtras, ({ request, extras, deprecated }) => {
          const body = { ...request.body };
          for (const [name, value] of Object.entries(extras)) if (!(name in body)) body[name] = value;
          if (deprecated.model !== undefined && body.model_id !== undefined) deprecated.model = body.model_id as string;
          Object.assign(body, deprecated);
          const v1 = { ...request, body };
          const { request: v2, report } = migrateRequest(v1);
          for (const leaf of leaves(body, ["body"])) {
            expect(leafIsAccountedFor(v2, report, [...leaf.path], leaf.value)).to.equal(true);
          }
          for (const [name, value] of Object.entries(v1.headers)) {
            const moved = report.renamed.find((entry) => entry.from === formatPath(["headers", name]));
            if (moved === undefined) expect(v2.headers[name]).to.equal(value);
            else expect(at(v2, moved.to)).to.equal(`Bearer ${value}`);
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("the task", () => {
    let temp = "";
    before(async () => {
      temp = await mkdtemp(path.join(tmpdir(), "api-task-"));
    });
    after(async () => {
      await rm(temp, { recursive: true, force: true });
    });

    const write = async (name: string, content: unknown): Promise<string> => {
      const file = path.join(temp, name);
      await writeFile(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
      return file;
    };
    const args = (overrides: Record<string, unknown>) => ({
      request: "",
      response: "",
      codegen: "",
      strict: false,
      json: false,
      ...overrides,
    });

    it("prints the migrated request, response and report as one JSON object with --json", async () => {
      const request = await write("req.json", {
        method: "GET",
        url: `${BASE}/v1/jobs/42`,
        headers: { "X-API-Key": "k" },
      });
      const response = await write("res.json", { body: { job_id: "42", created_at: "2026-01-01T00:00:00Z", x: 1 } });
      const run = await runTaskCapturing("api:migrate", args({ request, response, json: true, codegen: "python" }));
      expect(run.code).to.equal(0);
      expect(run.lines).to.have.length(1);
      const out = JSON.parse(run.lines[0]!);
      expect(out.request).to.deep.equal({
        method: "GET",
        url: `${BASE}/v2/jobs/42`,
        headers: { Authorization: "Bearer k" },
      });
      expect(out.report.endpoint).to.deep.equal({ from: "GET /v1/jobs/{job_id}", to: "GET /v2/jobs/{id}" });
      expect(out.response.body).to.deep.equal({
        id: "42",
        createdAt: "2026-01-01T00:00:00Z",
        "x-v1-unmapped": { x: 1 },
      });
      expect(out.responseReport.unknown).to.deep.equal([
        { path: "$.body.x", value: 1, keptAt: '$.body["x-v1-unmapped"].x' },
      ]);
      expect(out.codegen.language).to.equal("python");
      expect(out.codegen.after).to.include(`"${BASE}/v2/jobs/42"`);
    });

    it("prints the report, the request and the snippets as text for a pair file", async () => {
      const pair = await write("pair.json", {
        request: { method: "POST", url: `${BASE}/v1/jobs`, body: { model_id: "m", max_tokens: 8, priority: 1 } },
        response: { status: 400, body: { error: "bad model", code: "MODEL" } },
      });
      const run = await runTaskCapturing("api:migrate", args({ request: pair, codegen: "js" }));
      expect(run.code).to.equal(0);
      const text = run.lines.join("\n");
      expect(text).to.include("request: POST /v1/jobs → POST /v2/jobs");
      expect(text).to.include("  renamed     $.body.model_id → $.body.modelId");
      expect(text).to.include("  moved       $.body.max_tokens → $.body.parameters.maxTokens");
      expect(text).to.include("  deprecated  $.body.priority = 1 (removed: V2 orders jobs by payment amount");
      expect(text).to.include("  moved       $.body.error → $.body.error.message");
      expect(text).to.include('"message": "bad model"');
      expect(text).to.include("--- before (v1, js)\n// Fabstir API v1: POST /v1/jobs\nasync function main() {");
      expect(text).to.include("--- after (v2, js)\n// Fabstir API v2: POST /v2/jobs");
    });

    it("refuses bad input with exit code 1 and a message naming the file and where", async () => {
      const bad = await write("bad.json", '{ "method": "GET",\n  "url": "x" ,, }');
      const empty = await write("empty.json", "");
      const typed = await write("typed.json", { method: "POST", url: `${BASE}/v1/jobs`, body: { max_tokens: -1 } });
      const unknown = await write("unknown.json", { method: "POST", url: `${BASE}/v1/jobs`, body: { foo: 1 } });
      const cases: [Record<string, unknown>, string][] = [
        [{ request: bad }, `Error: ${bad}:2:15: invalid JSON: unexpected ","`],
        [{ request: empty }, `Error: ${empty}: the file is empty`],
        [{ request: typed }, `Error: ${typed}: $.body.max_tokens: Number must be greater than 0`],
        [{ request: unknown, strict: true }, `Error: ${unknown}: unknown fields (refused): $.body.foo`],
        [{ request: path.join(temp, "missing.json") }, "missing.json: cannot read it (ENOENT)"],
        [{ request: typed, codegen: "rust" }, 'Error: --codegen must be one of js, python, go (got "rust")'],
        [{}, "Error: --request <file> is required"],
      ];
      for (const [overrides, message] of cases) {
        const run = await runTaskCapturing("api:migrate", args(overrides));
        expect(run.code, message).to.equal(1);
        expect(run.lines.join("\n")).to.include(message);
      }
    });
  });
});
