import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { OrreryError } from "../errors.js";
import { AGENT_DEFAULTS, AGENT_SETTINGS, COORDINATOR_DEFAULTS, COORDINATOR_SETTINGS, DBB_DEFAULTS, DBB_SETTINGS, HEARTBEAT_MS, addSettingOptions, resolveSettings, serviceSchema } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "orrery-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function yaml(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Parses `args` with the service's real options, then resolves them. */
function coordinator(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = addSettingOptions(new Command("coordinator").exitOverride(), COORDINATOR_SETTINGS, COORDINATOR_DEFAULTS);
  cmd.parse(args, { from: "user" });
  const flags = cmd.opts<Record<string, unknown> & { config?: string }>();
  return resolveSettings("coordinator", COORDINATOR_SETTINGS, COORDINATOR_DEFAULTS, { flags, env, configFile: flags.config });
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OrreryError);
    expect((err as OrreryError).code).toBe("INVALID_ARGUMENT");
    return (err as Error).message;
  }
  throw new Error("not refused");
}

describe("service settings", () => {
  it("defaults come from one place; the heartbeat is 2 s for the coordinator and agents alike", () => {
    const s = coordinator([]);
    expect(s).toMatchObject({ listen: "127.0.0.1:7070", leaseTtl: 15_000, heartbeat: HEARTBEAT_MS, localityDelay: 3000, prestage: "on", prestageLifetime: 7_200_000, prestageInterval: 2000 });
    expect(HEARTBEAT_MS).toBe(2000);
    expect(s.http).toBeUndefined();
    expect(s.sources.heartbeat).toBe("default");
  });

  it("precedence: flag > env > file > default", () => {
    const file = yaml("c.yaml", "listen: 127.0.0.1:1\nredis: redis://file:6379\nheartbeat: 3000\nhttp: 127.0.0.1:0\n");
    const env = { ORRERY_LISTEN: "127.0.0.1:2", ORRERY_REDIS: "redis://env:6379" };
    const s = coordinator(["--config", file, "--listen", "127.0.0.1:3"], env);
    expect(s.listen).toBe("127.0.0.1:3");
    expect(s.sources.listen).toBe("flag");
    expect(s.redis).toBe("redis://env:6379");
    expect(s.sources.redis).toBe("env");
    expect(s.heartbeat).toBe(3000);
    expect(s.sources.heartbeat).toBe("file");
    expect(s.http).toBe("127.0.0.1:0");
    expect(s.nats).toBe(COORDINATOR_DEFAULTS.nats);
    expect(coordinator(["--http", "0.0.0.0:8080"], { ORRERY_HTTP: "127.0.0.1:9" }).http).toBe("0.0.0.0:8080");
    expect(coordinator([], { ORRERY_HTTP: "127.0.0.1:9" }).http).toBe("127.0.0.1:9");
  });

  it("a bad value names the setting and its source: the flag, the variable, FILE:LINE", () => {
    expect(refusal(() => coordinator(["--heartbeat", "soon"]))).toContain('--heartbeat "soon": must be a whole number of milliseconds');
    expect(refusal(() => coordinator([], { ORRERY_HTTP: "localhost" }))).toContain('$ORRERY_HTTP "localhost": must be host:port');
    expect(refusal(() => coordinator(["--nats", "http://x y"]))).toContain('--nats "http://x y": must be a NATS URL');
    expect(coordinator(["--nats", "127.0.0.1:4222"]).nats).toBe("127.0.0.1:4222");
    expect(coordinator(["--nats", "nats://u:p@127.0.0.1:4222"]).nats).toBe("nats://u:p@127.0.0.1:4222");
    expect(coordinator(["--nats", "nats://a:4222,nats://b:4222"]).nats).toBe("nats://a:4222,nats://b:4222");
    const file = yaml("bad.yaml", "leaseTtl: 100\nprestage: maybe\ncolour: blue\noperatorToken: x\n");
    const message = refusal(() => coordinator(["--config", file]));
    expect(message).toContain(`${file}:2: prestage: must be one of on, off`);
    expect(message).toContain(`${file}:3: colour: not a setting of this service`);
    expect(message).toContain(`${file}:4: operatorToken: is taken from the environment only`);
    expect(refusal(() => coordinator(["--config", join(dir, "missing.yaml")]))).toContain("cannot read it");
    expect(refusal(() => coordinator(["--config", yaml("list.yaml", "- a\n")]))).toContain("settings must be a map");
  });

  it("the agent: required site, metrics, durations as ms, a file", () => {
    const agent = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, configFile?: string) => resolveSettings("agent", AGENT_SETTINGS, AGENT_DEFAULTS, { flags, env, configFile });
    expect(refusal(() => agent({}))).toContain("site is required: give --site, or write site: in --config FILE");
    const s = agent({ site: "site-a", walltime: "2m" }, { ORRERY_METRICS: "127.0.0.1:0" }, yaml("a.yaml", "kind: spot\ncores: 3\n"));
    expect(s).toMatchObject({ site: "site-a", kind: "spot", cores: 3, walltime: 120_000, metrics: "127.0.0.1:0", prefetch: 1, spotNoticeInterval: 5000 });
    expect(refusal(() => agent({ site: "a", cores: "0" }))).toContain('--cores "0": must be a whole number of cores, 1..4096');
    expect(refusal(() => agent({ site: "a" }, { SLURM_JOB_ID: "a b" }))).toContain('$SLURM_JOB_ID "a b": must be 1..64 of [A-Za-z0-9_.:-]');
  });

  it("the dbb: booleans and counts from a file, metrics by flag", () => {
    const dbb = (flags: Record<string, unknown>, configFile?: string) => resolveSettings("dbb", DBB_SETTINGS, DBB_DEFAULTS, { flags, env: {}, configFile });
    const s = dbb({ metrics: "127.0.0.1:9101" }, yaml("d.yaml", "transfersOnly: true\ntransferWorkers: 8\nretryDelay: 1s\n"));
    expect(s).toMatchObject({ transfersOnly: true, transferWorkers: 8, retryDelay: 1000, transferTries: 5, metrics: "127.0.0.1:9101" });
    expect(refusal(() => dbb({ transferTries: "0" }))).toContain('--transfer-tries "0": must be a whole number of tries, 1..100');
  });

  it("one zod schema per service accepts its defaults as resolved", () => {
    const s = coordinator([]);
    const { sources: _sources, ...values } = s;
    expect(serviceSchema(COORDINATOR_SETTINGS).safeParse(values).success).toBe(true);
  });
});
