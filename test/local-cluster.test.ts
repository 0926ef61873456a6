// `orrery local up|status|down|restart|agent add` as an operator runs them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { stopCluster } from "../src/common/local/cluster.js";
import { isAlive } from "../src/common/local/child.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson } from "./cli-runner.js";

/** Live processes whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(text) && isAlive(Number(pid))) found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

interface LocalStatus {
  processes: { name: string; role: string; site: string; pid: number; alive: boolean; address: string }[];
  dashboard: string | null;
}

/** GET of the dashboard's host, with or without a bearer token. */
async function get(dashboard: string, path: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(new URL(path, dashboard), token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text() };
}

describe("orrery local", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("local");
  });
  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts every piece, reports it, adds an agent and stops it all", async () => {
    const up = await orrery(["local", "up", "--dir", dir, "--sites", "2", "--agents", "1", "--spot", "1"]);
    expect(up.code, up.stderr).toBe(0);
    const status = await orreryJson<LocalStatus>(["local", "status", "--dir", dir]);
    const roles = status.processes.map((p) => p.role).sort();
    // A spot agent brings the instance-metadata service its notices come from.
    expect(roles).toEqual(["agent", "coordinator", "dbb", "metadata", "nats", "redis", "s3", "s3"]);
    expect(status.processes.every((p) => p.alive)).toBe(true);

    const added = await orrery(["local", "agent", "add", "--dir", dir, "--site", "site-b"]);
    expect(added.code, added.stderr).toBe(0);
    const agents = await orreryJson<{ id: string; site: string; kind: string }[]>(["--cluster", join(dir, "cluster.json"), "agents"]);
    expect(agents.map((a) => `${a.site}/${a.kind}`).sort()).toEqual(["site-a/spot", "site-b/hpc"]);

    // The coordinator's HTTP side: healthz open to probes; the URL carries the operator token in its fragment, never sent.
    const dashboard = new URL(status.dashboard ?? "");
    expect(dashboard.protocol).toBe("http:");
    expect(dashboard.hostname).toBe("127.0.0.1");
    const token = new URLSearchParams(dashboard.hash.slice(1)).get("token") ?? "";
    expect(token.length).toBeGreaterThan(20);
    expect(await get(dashboard.href, "/healthz")).toEqual({ status: 200, text: JSON.stringify({ status: "ok", redis: "ok", nats: "ok" }) });

    // Killed, then restarted on the same address: redis with its data (an RSE it holds), an S3 endpoint, the coordinator.
    const before = (await orreryJson<LocalStatus>(["local", "status", "--dir", dir])).processes;
    for (const name of ["redis", "s3-site-b", "coordinator"]) {
      const p = before.find((x) => x.name === name)!;
      process.kill(p.pid, "SIGKILL");
      if (name === "redis") {
        // While Redis is down a catalog call exits 3 and says what is down.
        const down = await orrery(["--cluster", join(dir, "cluster.json"), "dbb", "rse", "list"]);
        expect(down.code, down.stderr).toBe(3);
        expect(down.stderr).toMatch(/Redis, the state store, cannot be reached/);
      }
      const restarted = await orrery(["local", "restart", name, "--dir", dir]);
      expect(restarted.code, restarted.stderr).toBe(0);
    }
    const after = (await orreryJson<LocalStatus>(["local", "status", "--dir", dir])).processes;
    expect(after.every((p) => p.alive)).toBe(true);
    for (const name of ["redis", "s3-site-b", "coordinator"]) {
      const [b, a] = [before.find((x) => x.name === name)!, after.find((x) => x.name === name)!];
      expect(a.pid).not.toBe(b.pid);
      expect(a.address).toBe(b.address);
    }
    // The restarted coordinator serves its dashboard at the same URL.
    expect((await orreryJson<LocalStatus>(["local", "status", "--dir", dir])).dashboard).toBe(status.dashboard);
    expect((await get(status.dashboard ?? "", "/healthz")).status).toBe(200);
    const rses = await orreryJson<{ name: string }[]>(["--cluster", join(dir, "cluster.json"), "dbb", "rse", "list"]);
    expect(rses.map((r) => r.name)).toContain("site-b-disk");
    const unknown = await orrery(["local", "restart", "nope", "--dir", dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("coordinator");

    const again = await orrery(["local", "up", "--dir", dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already running");

    const pids = (await orreryJson<LocalStatus>(["local", "status", "--dir", dir])).processes.map((p) => p.pid);
    const down = await orrery(["local", "down", "--dir", dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it("says how to install a missing server binary, exit 3, and starts nothing", async () => {
    // A PATH with node on it and no nats-server or redis-server.
    const bin = join(dir, "only-node");
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, "node"));
    const r = await orrery(["local", "up", "--dir", join(dir, "nobin")], { env: { ...process.env, PATH: bin } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/(nats|redis)-server is not installed/);
    expect(r.stderr).toContain("npm run setup");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // Servers that did start before the failure (the S3 endpoints) were stopped again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesMentioning(join(dir, "nobin"))).toEqual([]);
  });

  it("says how to install openssl when the cluster's certificates cannot be made, exit 3, and starts nothing", async () => {
    // The servers are there; openssl, which makes the cluster's CA, is not.
    const bin = join(dir, "no-openssl");
    mkdirSync(bin, { recursive: true });
    for (const name of ["node", "nats-server", "redis-server"]) symlinkSync(name === "node" ? process.execPath : execFileSync("which", [name], { encoding: "utf8" }).trim(), join(bin, name));
    const r = await orrery(["local", "up", "--dir", join(dir, "nossl")], { env: { ...process.env, PATH: bin } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain("openssl is not installed");
    expect(r.stderr).toContain("--insecure");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesMentioning(join(dir, "nossl"))).toEqual([]);
  });
});
