import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { checkConfigOverride, parsePriority, pipelineFileOf, readSubmitRequest } from "./campaign-file.js";

const INLINE = `apiVersion: orrery/v1
kind: Campaign
name: mini-drp
pipeline:
  tasks:
    isr: {command: [node, isr.mjs], dimensions: [detector]}
`;

const BY_FILE = `apiVersion: orrery/v1
kind: Campaign
name: mini-drp
pipeline: {file: pipelines/drp.yaml}
`;

describe("reading a campaign file", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "orrery-campaign-file-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("sends the text and the name the user gave, with overrides and priority", async () => {
    const file = join(dir, "inline.yaml");
    await writeFile(file, INLINE);
    const req = await readSubmitRequest(file, { config: ["isr.saturation=60000", "isr.doBias=false"], priority: 500 });
    expect(req).toEqual({
      specYaml: INLINE,
      sourceName: file,
      configOverrides: ["isr.saturation=60000", "isr.doBias=false"],
      priority: 500,
    });
  });

  it("reads `pipeline: {file}` relative to the campaign file's folder", async () => {
    await mkdir(join(dir, "pipelines"));
    await writeFile(join(dir, "pipelines", "drp.yaml"), "tasks: {}\n");
    const file = join(dir, "campaign.yaml");
    await writeFile(file, BY_FILE);
    const req = await readSubmitRequest(file);
    expect(req.pipelineYaml).toBe("tasks: {}\n");
    expect(req.pipelineSourceName).toBe(join(dir, "pipelines", "drp.yaml"));
    expect(req.priority).toBeUndefined();
  });

  it("refuses a missing campaign file with INVALID_ARGUMENT naming it", async () => {
    const file = join(dir, "does-not-exist.yaml");
    const err = await readSubmitRequest(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OrreryError);
    expect((err as OrreryError).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((err as OrreryError).message).toBe(`cannot read campaign file ${file}: no such file`);
  });

  it("refuses a missing pipeline file, naming the resolved path", async () => {
    const file = join(dir, "campaign.yaml");
    await writeFile(file, BY_FILE);
    const err = await readSubmitRequest(file).catch((e: unknown) => e);
    expect((err as OrreryError).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((err as OrreryError).message).toContain(join(dir, "pipelines", "drp.yaml"));
  });
});

describe("pipeline file detection", () => {
  it("finds only a string `pipeline.file`", () => {
    expect(pipelineFileOf(BY_FILE)).toBe("pipelines/drp.yaml");
    expect(pipelineFileOf(INLINE)).toBeUndefined();
    expect(pipelineFileOf("name: x\n")).toBeUndefined();
    // Broken YAML goes to the server as is, which reports FILE:LINE problems.
    expect(pipelineFileOf("name: [unclosed\n")).toBeUndefined();
  });
});

describe("command-line values", () => {
  it("accepts task.key=value overrides and refuses others", () => {
    expect(checkConfigOverride("isr.saturation=60000")).toBe("isr.saturation=60000");
    expect(checkConfigOverride("isr.note=a=b")).toBe("isr.note=a=b");
    for (const bad of ["saturation=60000", "isr.saturation", "=1", ".x=1"]) {
      expect(() => checkConfigOverride(bad)).toThrow(/expected task\.key=value/);
    }
  });

  it("accepts priorities 0..1000 only", () => {
    expect(parsePriority("0")).toBe(0);
    expect(parsePriority("1000")).toBe(1000);
    for (const bad of ["-1", "1001", "high", "1.5", ""]) expect(() => parsePriority(bad)).toThrow(OrreryError);
  });
});
