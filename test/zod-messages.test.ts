// Every refusal of a user's file speaks the schema's words (src/common/zod.ts),
// never zod's generic texts ("Invalid key in record", "Invalid input: expected
// string, received number", "Unrecognized key", "Too small"…): hand-made bad
// campaign, pipeline, policy, manifest and cluster files, then mutated ones.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readClusterFile } from "../src/cli/connection.js";
import { OrreryError } from "../src/common/errors.js";
import { mutate } from "./fuzz/mutate.js";
import { ZOD_GENERIC, parseAs } from "./fuzz/outcome.js";
import { Random } from "./fuzz/random.js";
import { SEEDS, type SeedKind } from "./fuzz/seeds.js";

function messageOf(outcome: { ok: true } | { ok: false; err: unknown }): string | undefined {
  if (outcome.ok) return undefined;
  return outcome.err instanceof Error ? outcome.err.message : String(outcome.err);
}

/** `from` → `to` in the seed, which must contain `from`. */
function edited(kind: SeedKind, from: string | RegExp, to: string): string {
  const seed = SEEDS[kind];
  const out = seed.replace(from, to);
  if (out === seed) throw new Error(`fixture: ${String(from)} not in the ${kind} seed`);
  return out;
}

const BAD: { kind: SeedKind; what: string; text: string }[] = [
  { kind: "campaign", what: "an unknown top-level key", text: `${SEEDS.campaign}\ncolour: blue\n` },
  { kind: "campaign", what: "a number for apiVersion", text: edited("campaign", /apiVersion: .*/, "apiVersion: 1") },
  { kind: "campaign", what: "no name", text: edited("campaign", /^name: .*\n/m, "") },
  { kind: "campaign", what: "a list for data", text: edited("campaign", /^data:/m, "data: [1]\nxdata:") },
  { kind: "campaign", what: "a task label with a dot", text: edited("campaign", /^ {4}(\w+):$/m, "    make.warp:") },
  { kind: "campaign", what: "a task label starting with a digit", text: edited("campaign", /^ {4}(\w+):$/m, "    1isr:") },
  { kind: "campaign", what: "a number for a command", text: edited("campaign", /command: \[/, "command: [7, ") },
  { kind: "campaign", what: "a string for cores", text: edited("campaign", "cores: 1,", "cores: many,") },
  { kind: "campaign", what: "a float for priority", text: edited("campaign", /^priority: .*/m, "priority: 1.5") },
  { kind: "campaign", what: "an empty dimensions list", text: edited("campaign", /dimensions: \[[^\]]*\]/, "dimensions: []") },
  { kind: "campaign", what: "a bad where value", text: edited("campaign", /^data:\n/m, "data:\n  where: {visit: {nope: 1}}\n") },
  { kind: "campaign", what: "a null file", text: "~\n" },
  { kind: "campaign", what: "a list file", text: "- a\n- b\n" },
  { kind: "pipeline", what: "tasks as a list", text: "tasks: [a, b]\n" },
  { kind: "pipeline", what: "a task label with a space", text: edited("pipeline", /^ {2}(\w+):$/m, '  "make warp":') },
  { kind: "pipeline", what: "an unknown task field", text: edited("pipeline", "preemptible: true", "preemptible: true\n    retries: 3") },
  { kind: "policy", what: "an unknown field", text: `${SEEDS.policy}\ncolour: blue\n` },
  { kind: "policy", what: "a number for the site", text: edited("policy", /^site: .*/m, "site: 12") },
  { kind: "policy", what: "copies as a string", text: edited("policy", "copies: 1}", "copies: two}") },
  { kind: "manifest", what: "a number for path", text: '{"path": 5, "scope": "hsc", "datasetType": "raw", "dataId": {}}\n' },
  { kind: "manifest", what: "an unknown field", text: '{"path": "a.fits", "scope": "hsc", "datasetType": "raw", "dataId": {}, "colour": 1}\n' },
  { kind: "manifest", what: "a list for dataId", text: '{"path": "a.fits", "scope": "hsc", "datasetType": "raw", "dataId": [1]}\n' },
];

describe("zod messages are the schema's own", () => {
  for (const { kind, what, text } of BAD) {
    it(`${kind}: ${what}`, () => {
      const message = messageOf(parseAs(kind, text));
      expect(message, "the file must be refused").toBeDefined();
      expect(message).not.toMatch(ZOD_GENERIC);
      // Each problem line names its field: FILE[:LINE]: path: message.
      for (const line of message!.split("\n").slice(1)) expect(line).toMatch(/^\S+?(:\d+)?: \S.*: \S/);
    });
  }

  it("a task label in the wrong form says what labels may be, at the label", () => {
    const message = messageOf(parseAs("campaign", edited("campaign", /^ {4}(\w+):$/m, "    make.warp:")));
    expect(message).toMatch(/pipeline\.tasks\.make\.warp: task labels are 1\.\.63 of \[A-Za-z0-9_-\] starting with a letter/);
  });

  const dir = mkdtempSync(join(tmpdir(), "orrery-zod-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const CLUSTER = { version: 1, dir, coordinator: "127.0.0.1:1", nats: "nats://127.0.0.1:2", redis: "redis://127.0.0.1:3", s3: {}, credentials: { accessKeyId: "a", secretAccessKey: "b" }, sites: ["a"], processes: [] };
  const CLUSTERS: [string, unknown][] = [
    ["version 2", { ...CLUSTER, version: 2 }],
    ["no coordinator", { ...CLUSTER, coordinator: undefined }],
    ["sites as a string", { ...CLUSTER, sites: "a" }],
    ["a process with a bad role", { ...CLUSTER, processes: [{ name: "x", role: "boss", pid: 1, address: "", log: "" }] }],
    ["a number for an S3 endpoint", { ...CLUSTER, s3: { a: 9 } }],
    ["a list", []],
  ];
  for (const [what, value] of CLUSTERS) {
    it(`cluster file: ${what}`, () => {
      const file = join(dir, "cluster.json");
      writeFileSync(file, JSON.stringify(value));
      let message = "";
      try {
        readClusterFile(file);
      } catch (err) {
        expect(err).toBeInstanceOf(OrreryError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/is not a cluster file: \S+: /);
      expect(message).not.toMatch(ZOD_GENERIC);
    });
  }

  it("100 mutated files of each kind are refused in the schema's words", () => {
    const r = new Random(20261202);
    const generic: string[] = [];
    for (const kind of Object.keys(SEEDS) as SeedKind[]) {
      for (let i = 0; i < 100; i++) {
        const text = mutate(SEEDS[kind], kind === "manifest" ? "jsonl" : "yaml", r);
        const message = messageOf(parseAs(kind, text));
        const hit = message === undefined ? null : ZOD_GENERIC.exec(message);
        if (hit && generic.length < 5) generic.push(`${kind} case ${i}: "${hit[0]}" in\n${message!.slice(0, 300)}`);
      }
    }
    expect(generic).toEqual([]);
  });
});
