// `orrery dbb rse list --expr E` as an operator runs it, against `orrery local up`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { stopCluster } from "../src/common/local/cluster.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson } from "./cli-runner.js";

describe("orrery dbb rse list --expr", () => {
  let dir: string;
  let cluster: string;

  beforeAll(async () => {
    dir = tempDir("rse-expr");
    cluster = join(dir, "cluster.json");
    const up = await orrery(["local", "up", "--dir", dir, "--sites", "2", "--agents", "0"]);
    expect(up.code, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  const list = (expr: string) => orreryJson<{ name: string }[]>(["--cluster", cluster, "dbb", "rse", "list", "--expr", expr]).then((rses) => rses.map((r) => r.name));

  it("lists the RSEs an expression selects", async () => {
    expect(await list("site=site-a")).toEqual(["site-a-disk", "site-a-tape"]);
    expect(await list("tier=custodial")).toEqual(["site-a-tape"]);
    expect(await list("*\\site=site-a|site-a-tape")).toEqual(["site-a-tape", "site-b-disk"]);
    const table = await orrery(["--cluster", cluster, "dbb", "rse", "list", "--expr", "tier=disk&site=site-b"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n").slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(["site-b-disk"]);
  });

  it("exits 2 naming the column when the expression does not parse, and when it selects none", async () => {
    const bad = await orrery(["--cluster", cluster, "dbb", "rse", "list", "--expr", "site=site-a&(tier=disk"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('rse expression "site=site-a&(tier=disk": column 23: expected ")"');
    const none = await orrery(["--cluster", cluster, "dbb", "rse", "list", "--expr", "site=site-z"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('rse expression "site=site-z" selects no RSE');
  });
});
