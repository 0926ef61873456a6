// `orrery dbb ingest --dataset`, `attach`, `detach`, `contents`, `close` and
// `replicas` of a container as an operator runs them: the real CLI, its exit
// codes, its JSON, and refusals that name the rule broken.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { s3ClientFor } from "../src/common/s3.js";
import { startTestServers, type TestServers } from "./harness.js";
import { orrery, orreryJson } from "./cli-runner.js";

describe("orrery dbb attach|detach|contents|close", () => {
  let servers: TestServers;
  let dbb: RunningDbb | undefined;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    servers = await startTestServers("collections-cli", ["cli-disk"]);
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
    nc = await connectNats(servers.nats.url, "collections-cli-test");
    await new DbbClient(nc).rseAdd({ name: "cli-disk", site: "site-c", endpoint: servers.s3.endpoint, bucket: "cli-disk", output: true });
  });

  afterAll(async () => {
    await nc?.close();
    await dbb?.close();
    s3ClientFor(servers.s3.endpoint).destroy();
    await servers?.stop();
  });

  const dbbArgs = (...args: string[]) => ["dbb", "--nats", servers.nats.url, ...args];
  const json = <T>(...args: string[]) => orreryJson<T>(dbbArgs(...args));
  const run = (...args: string[]) => orrery(dbbArgs(...args));

  function ingestArgs(scope: string, name: string, ...extra: string[]): string[] {
    const file = join(servers.dir, name);
    writeFileSync(file, randomBytes(100));
    return ["ingest", "--rse", "cli-disk", file, "--scope", scope, "--dataset-type", "raw", "--data-id", `name=${name}`, ...extra];
  }

  it("builds a container of datasets from the command line and lists it", async () => {
    expect(await json(...ingestArgs("clia", "a.fits", "--dataset", "clia:ds1"))).toEqual({ ingested: 1, bytes: 100 });
    expect(await json(...ingestArgs("clia", "b.fits", "--dataset", "clia:ds2"))).toEqual({ ingested: 1, bytes: 100 });
    // --collection is the former name of --dataset.
    expect(await json(...ingestArgs("clia", "c.fits", "--collection", "clia:ds2"))).toEqual({ ingested: 1, bytes: 100 });

    expect(await json("attach", "clia:run", "clia:ds1", "clia:ds2")).toEqual({ attached: 2 });
    expect(await json("attach", "clia:run", "clia:ds1")).toEqual({ attached: 0 });
    expect(await json("contents", "clia:run")).toEqual([
      { did: "clia:ds1", type: "DATASET" },
      { did: "clia:ds2", type: "DATASET" },
    ]);
    const table = await run("contents", "clia:ds2");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.trim().split("\n")).toEqual(["DID          TYPE", "clia:b.fits  FILE", "clia:c.fits  FILE"]);

    const rows = await json<{ did: string; rse: string; state: string; producedBy: string | null }[]>("replicas", "clia:run");
    expect(rows.map((r) => [r.did, r.rse, r.state, r.producedBy])).toEqual(["a", "b", "c"].map((n) => [`clia:${n}.fits`, "cli-disk", "AVAILABLE", null]));
  });

  it("exits 2 naming the rule when a file goes into a container, a cycle would form, or the collection is closed", async () => {
    await json(...ingestArgs("clib", "raw.fits", "--dataset", "clib:ds"));
    await json("attach", "clib:inner", "clib:ds");
    await json("attach", "clib:outer", "clib:inner");

    const intoContainer = await run("attach", "clib:outer", "clib:raw.fits");
    expect(intoContainer.code).toBe(2);
    expect(intoContainer.stderr).toContain("clib:raw.fits is a FILE: files cannot be attached to a CONTAINER (clib:outer); attach files to a DATASET");

    const cycle = await run("attach", "clib:inner", "clib:outer");
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toContain("attaching clib:outer to clib:inner would make a cycle: clib:outer already contains clib:inner");

    const intoDataset = await run("attach", "clib:ds", "clib:inner");
    expect(intoDataset.code).toBe(2);
    expect(intoDataset.stderr).toContain("clib:inner is a CONTAINER: only files can be attached to a DATASET");

    const missing = await run("contents", "clib:nothing");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("clib:nothing is not in the catalog");

    expect(await json("close", "clib:ds")).toEqual({ did: "clib:ds", type: "DATASET", open: false });
    const closed = await run(...ingestArgs("clib", "late.fits", "--dataset", "clib:ds"));
    expect(closed.code).toBe(2);
    expect(closed.stderr).toContain("--dataset clib:ds is closed");
    const notADataset = await run(...ingestArgs("clib", "late2.fits", "--dataset", "clib:outer"));
    expect(notADataset.code).toBe(2);
    expect(notADataset.stderr).toContain("--dataset clib:outer is a CONTAINER: files can be attached only to a DATASET");
    const detachClosed = await run("detach", "clib:ds", "clib:raw.fits");
    expect(detachClosed.code).toBe(2);
    expect(detachClosed.stderr).toContain("clib:ds is a closed DATASET: nothing can be attached to or detached from a closed collection");
  });

  it("detaches, and exits 2 when the DID is not attached", async () => {
    await json(...ingestArgs("clic", "x.fits", "--dataset", "clic:ds"));
    await json("attach", "clic:c", "clic:ds");
    expect(await json("detach", "clic:c", "clic:ds")).toEqual({ detached: 1 });
    expect(await json("contents", "clic:c")).toEqual([]);
    const again = await run("detach", "clic:c", "clic:ds");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("clic:ds is not attached to clic:c");
    const empty = await run("contents", "clic:c");
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain("clic:c is an empty CONTAINER");
  });
});
