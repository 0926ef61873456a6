import { describe, expect, it } from "vitest";
import { isOrreryError } from "../../common/errors.js";
import { unlocated } from "../../common/yaml-problems.js";
import { parsePolicyJson, parsePolicyYaml } from "./policy-file.js";
import { rseProblems } from "./policy-schema.js";
import { jobsForNew, matches } from "./subscription-match.js";
import { StorageTier } from "../../gen/orrery/v1/common_pb.js";

const CONTRACT_EXAMPLE = `site: site-a
subscriptions:
  - name: raw-to-tape
    match: {scope: hsc, datasetType: [raw]}
    rules: [{rseExpression: "tier=custodial", copies: 1}]
  - name: outputs-to-b
    match: {scope: hsc-drp, datasetType: [calexp, deepCoadd]}
    rules: [{rseExpression: "site=site-b&tier=disk", copies: 1, lifetime: 30d}]
`;

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (isOrreryError(err, "SPEC_INVALID")) return err.message.split("\n").slice(1);
    throw err;
  }
  throw new Error("expected the policy to be refused");
}

describe("policy files", () => {
  it("reads the CONTRACT's example, filling in defaults", () => {
    const { policy } = parsePolicyYaml("site-a.yaml", CONTRACT_EXAMPLE);
    expect(policy.site).toBe("site-a");
    expect(policy.subscriptions.map((s) => s.name)).toEqual(["raw-to-tape", "outputs-to-b"]);
    expect(policy.subscriptions[1]!.rules[0]).toEqual({ rseExpression: "site=site-b&tier=disk", copies: 1, lifetime: "30d", grouping: "NONE", locked: false });
    expect(policy.subscriptions[0]!.retroactive).toBe(false);
    // The JSON sent to the dbb reads back to the same policy.
    expect(parsePolicyJson(JSON.stringify(policy))).toEqual(policy);
  });

  it("lists every problem at once as FILE:LINE: path: message", () => {
    const text = `site: site-a
subscriptions:
  - name: raw
    match: {scope: hsc, datasetType: []}
    rules:
      - rseExpression: "tier=disk&(site=a"
        lifetime: 3 weeks
        copies: 0
  - name: raw
    match: {scope: hsc, datasetType: [raw], originSite: site-b}
    rules: [{rseExpression: "*", colour: red}]
    retroactive: yes
`;
    expect(problems(() => parsePolicyYaml("p.yaml", text))).toEqual([
      "p.yaml:4: subscriptions.0.match.datasetType: list at least one dataset type, e.g. [raw]",
      'p.yaml:6: subscriptions.0.rules.0.rseExpression: rse expression "tier=disk&(site=a": column 18: expected ")" or an operator (|, &, \\), found the end',
      'p.yaml:7: subscriptions.0.rules.0.lifetime: "3 weeks" is not a positive duration; write 90s, 15m, 2h, 30d or seconds',
      "p.yaml:8: subscriptions.0.rules.0.copies: must be at least 1",
      // Checks across fields run even though fields are wrong elsewhere.
      'p.yaml:9: subscriptions.1.name: "raw" is also the name of subscriptions.0',
      'p.yaml:10: subscriptions.1.match.originSite: "site-b" is not this policy\'s site "site-a": it would never match; leave it out or set that site\'s policy',
      "p.yaml:11: subscriptions.1.rules.0.colour: unknown field",
      "p.yaml:12: subscriptions.1.retroactive: must be true or false, not the string \"yes\"",
    ]);
    const semantic = `site: site-a
subscriptions:
  - name: raw
    match: {scope: hsc, datasetType: [raw], originSite: site-b}
    rules: [{rseExpression: "*"}, {rseExpression: "*", copies: 2}]
  - name: raw
    match: {scope: hsc, datasetType: [raw]}
    rules: [{rseExpression: "*"}]
`;
    expect(problems(() => parsePolicyYaml("q.yaml", semantic))).toEqual([
      'q.yaml:4: subscriptions.0.match.originSite: "site-b" is not this policy\'s site "site-a": it would never match; leave it out or set that site\'s policy',
      "q.yaml:5: subscriptions.0.rules.1.rseExpression: same expression as rules.0: a DID has one rule per RSE expression",
      'q.yaml:6: subscriptions.1.name: "raw" is also the name of subscriptions.0',
    ]);
  });

  it("reports YAML syntax errors with their line, and JSON problems without one", () => {
    expect(problems(() => parsePolicyYaml("s.yaml", "site: a\nsubscriptions: [\n"))[0]).toMatch(/^s\.yaml:3: \(file\): /);
    expect(problems(() => parsePolicyJson(JSON.stringify({ site: "a b", subscriptions: [] })))).toEqual(["policy: site: must be a site name (letters, digits, '_', '.' and '-')"]);
    expect(problems(() => parsePolicyJson("{"))[0]).toMatch(/^policy: \(file\): not JSON/);
  });

  it("finds expressions that select too few RSEs, and a site without RSEs", () => {
    const { policy, at } = parsePolicyYaml("site-a.yaml", CONTRACT_EXAMPLE);
    const rses = [
      { name: "a-disk", site: "site-a", tier: StorageTier.DISK, attributes: {} },
      { name: "b-disk", site: "site-b", tier: StorageTier.DISK, attributes: {} },
    ];
    expect(rseProblems(policy, rses, at).map((p) => `${p.line}: ${p.path}: ${p.message}`)).toEqual([
      '5: subscriptions.0.rules.0.rseExpression: "tier=custodial" selects 0 RSE(s) (none), fewer than the 1 copies asked for',
    ]);
    expect(rseProblems({ ...policy, site: "site-z" }, rses, unlocated("policy"))[0]).toMatchObject({ path: "site", message: 'no RSE is at site "site-z" (sites: site-a, site-b)' });
  });
});

describe("subscription matching", () => {
  const { policy } = parsePolicyYaml(
    "m.yaml",
    `site: site-a
subscriptions:
  - name: night
    match: {scope: hsc, datasetType: [raw, bias], metadata: {night: 20260301, kind: science}}
    rules: [{rseExpression: tape}, {rseExpression: "site=site-b", lifetime: 7d}]
`,
  );
  const sub = policy.subscriptions[0]!;
  const file = { did: "hsc:f1", scope: "hsc", datasetType: "raw", metadata: JSON.stringify({ night: "20260301", kind: "science", extra: 1 }), originSite: "site-a", registeredAt: 10 };

  it("matches scope, dataset type, origin site and metadata", () => {
    expect(matches(sub, "site-a", file)).toBe(true);
    expect(matches(sub, "site-a", { ...file, scope: "hsc-drp" })).toBe(false);
    expect(matches(sub, "site-a", { ...file, datasetType: "calexp" })).toBe(false);
    expect(matches(sub, "site-a", { ...file, originSite: "site-b" })).toBe(false);
    expect(matches(sub, "site-a", { ...file, metadata: JSON.stringify({ night: 20260302, kind: "science" }) })).toBe(false);
    expect(matches(sub, "site-a", { ...file, metadata: "not json" })).toBe(false);
  });

  it("gives new files the rules of subscriptions set before they were registered", () => {
    const stored = new Map([["site-a", { policy, since: { night: 5 }, setAt: 5 }]]);
    const jobs = jobsForNew([file, { ...file, did: "hsc:early", registeredAt: 4 }], stored);
    expect(jobs.map((j) => j.input)).toEqual([
      { did: "hsc:f1", rseExpression: "tape", copies: 1, grouping: "NONE", locked: false, subscription: "site-a/night" },
      { did: "hsc:f1", rseExpression: "site=site-b", copies: 1, grouping: "NONE", locked: false, subscription: "site-a/night", lifetime: "7d" },
    ]);
  });
});
