import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseCampaign, type CampaignSource } from "./spec.js";

// The three-task pipeline of examples/mini-drp, inline.
const CAMPAIGN = `apiVersion: orrery/v1
kind: Campaign
name: mini-drp
priority: 100
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs, "{inputs.raw}", "{inputs.bias}", "{outputs.postISR}"]
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs:
        postISR: {datasetType: postISRCCD}
      resources: {cores: 1, memoryMB: 256, softTimeLimit: 60s, timeLimit: 90s}
      config: {doBias: true, saturation: 65000}
    calibrate:
      command: [node, calibrate.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        postISR: {datasetType: postISRCCD}
      outputs:
        calexp: {datasetType: calexp}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument, tract, patch]
      inputs:
        calexp: {datasetType: calexp, multiple: true}
      outputs:
        coadd: {datasetType: deepCoadd}
data:
  scope: hsc
  where: {instrument: HSC}
config: {isr.saturation: 60000}
output: {scope: hsc-drp, run: mini-drp/run1}
`;

/** The 1-based line of the only line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const lines = text.split("\n");
  const found = lines.flatMap((l, i) => (l.includes(needle) ? [i + 1] : []));
  if (found.length !== 1) throw new Error(`fixture: "${needle}" is on ${found.length} lines`);
  return found[0]!;
}

function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`fixture: "${from}" not found`);
  return text.replace(from, to);
}

/** The problem lines of a refused campaign (the message minus its heading). */
function problemsOf(src: Partial<CampaignSource> & { specYaml: string }): string[] {
  try {
    parseCampaign({ sourceName: "campaign.yaml", ...src });
  } catch (err) {
    expect(err).toBeInstanceOf(OrreryError);
    expect((err as OrreryError).code).toBe(ErrorCode.SPEC_INVALID);
    const [heading, ...lines] = (err as OrreryError).message.split("\n");
    expect(heading).toBe(`campaign refused, ${lines.length} problem${lines.length === 1 ? "" : "s"}:`);
    return lines;
  }
  throw new Error("parseCampaign accepted the campaign");
}

describe("parseCampaign: a valid campaign", () => {
  it("types the file, fills defaults and orders tasks by their dataset types", () => {
    const spec = parseCampaign({ specYaml: CAMPAIGN, sourceName: "campaign.yaml" });
    expect(spec.name).toBe("mini-drp");
    expect(spec.priority).toBe(100);
    expect(spec.share).toBe(1);
    expect(spec.reuse).toBe(false);
    expect(spec.sites).toEqual({});
    expect(spec.retries).toEqual({ failures: 3, kills: 10, unlessExit: [], memoryMultiplier: 2, memoryMax: 16000 });
    expect(spec.data).toEqual({ scope: "hsc", where: { instrument: "HSC" } });
    expect(spec.output).toEqual({ scope: "hsc-drp", run: "mini-drp/run1" });
    expect(spec.tasks.map((t) => [t.name, t.upstream])).toEqual([
      ["isr", []],
      ["calibrate", ["isr"]],
      ["coadd", ["calibrate"]],
    ]);
    const [isr, calibrate] = spec.tasks;
    expect(isr!.resources).toEqual({ cores: 1, memoryMB: 256, diskMB: 1000, softTimeLimit: 60, timeLimit: 90 });
    expect(isr!.inputs).toEqual({ raw: { datasetType: "raw", calibration: false, multiple: false }, bias: { datasetType: "bias", calibration: true, multiple: false } });
    expect(isr!.preemptible).toBe(true);
    expect(calibrate!.resources).toEqual({ cores: 1, memoryMB: 1024, diskMB: 1000, timeLimit: 3600 });
  });

  it("puts a task after the task producing its input even when written first", () => {
    const yaml = `apiVersion: orrery/v1
kind: Campaign
name: reordered
pipeline:
  tasks:
    coadd: {command: [c], dimensions: [patch], inputs: {calexp: {datasetType: calexp, multiple: true}}, outputs: {coadd: {datasetType: deepCoadd}}}
    calibrate: {command: [b], dimensions: [detector], inputs: {postISR: {datasetType: postISRCCD}}, outputs: {calexp: {datasetType: calexp}}}
    isr: {command: [a], dimensions: [detector], inputs: {raw: {datasetType: raw}}, outputs: {postISR: {datasetType: postISRCCD}}}
data: {scope: hsc}
output: {scope: out, run: r1}
`;
    const spec = parseCampaign({ specYaml: yaml, sourceName: "c.yaml" });
    expect(spec.tasks.map((t) => t.name)).toEqual(["isr", "calibrate", "coadd"]);
    expect(spec.tasks[2]!.upstream).toEqual(["calibrate"]);
  });

  it("accepts examples/mini-drp/campaign.yaml", () => {
    const text = readFileSync(new URL("../../../examples/mini-drp/campaign.yaml", import.meta.url), "utf8");
    const spec = parseCampaign({ specYaml: text, sourceName: "examples/mini-drp/campaign.yaml" });
    expect(spec.tasks.map((t) => [t.name, t.upstream])).toEqual([
      ["isr", []],
      ["calibrate", ["isr"]],
      ["coadd", ["calibrate"]],
    ]);
    expect(spec.tasks[2]!.inputs["calexp"]).toEqual({ datasetType: "calexp", calibration: false, multiple: true });
  });

  it("takes --priority over the file's priority", () => {
    expect(parseCampaign({ specYaml: CAMPAIGN, sourceName: "c.yaml", priority: 900 }).priority).toBe(900);
    expect(parseCampaign({ specYaml: CAMPAIGN, sourceName: "c.yaml", priority: 0 }).priority).toBe(0);
  });

  it("reads the pipeline from its own file for `pipeline: {file}`", () => {
    const pipeline = `tasks:
  isr:
    command: [node, isr.mjs]
    dimensions: [detector]
    inputs: {raw: {datasetType: raw}}
    outputs: {postISR: {datasetType: postISRCCD}}
    config: {saturation: 65000}
`;
    const campaign = edit(CAMPAIGN, CAMPAIGN.slice(CAMPAIGN.indexOf("pipeline:"), CAMPAIGN.indexOf("data:")), "pipeline: {file: drp.yaml}\n");
    const spec = parseCampaign({ specYaml: campaign, sourceName: "campaign.yaml", pipelineYaml: pipeline, pipelineSourceName: "pipelines/drp.yaml" });
    expect(spec.tasks.map((t) => t.name)).toEqual(["isr"]);
    expect(spec.tasks[0]!.config).toEqual({ saturation: 60000 });
    expect(spec.tasks[0]!.resolvedConfig["saturation"]!.history).toEqual([
      { value: 65000, source: "pipeline pipelines/drp.yaml:7" },
      { value: 60000, source: `campaign campaign.yaml:${lineOf(campaign, "config: {isr.saturation")}` },
    ]);
  });
});

describe("parseCampaign: config with history", () => {
  it("resolves pipeline default → campaign file → --config, last wins, listing every source", () => {
    const spec = parseCampaign({
      specYaml: CAMPAIGN,
      sourceName: "campaign.yaml",
      configOverrides: ["isr.saturation=55000", "isr.saturation=50000", "calibrate.clipSigma=2.5", "isr.mode=fast", "isr.doBias=false"],
    });
    const isr = spec.tasks.find((t) => t.name === "isr")!;
    const pipelineLine = lineOf(CAMPAIGN, "config: {doBias");
    const campaignLine = lineOf(CAMPAIGN, "config: {isr.saturation");
    expect(isr.config).toEqual({ doBias: false, saturation: 50000, mode: "fast" });
    expect(isr.resolvedConfig).toEqual({
      doBias: {
        value: false,
        history: [
          { value: true, source: `pipeline campaign.yaml:${pipelineLine}` },
          { value: false, source: "--config" },
        ],
      },
      saturation: {
        value: 50000,
        history: [
          { value: 65000, source: `pipeline campaign.yaml:${pipelineLine}` },
          { value: 60000, source: `campaign campaign.yaml:${campaignLine}` },
          { value: 55000, source: "--config" },
          { value: 50000, source: "--config" },
        ],
      },
      mode: { value: "fast", history: [{ value: "fast", source: "--config" }] },
    });
    const calibrate = spec.tasks.find((t) => t.name === "calibrate")!;
    expect(calibrate.config).toEqual({ clipSigma: 2.5 });
    expect(spec.tasks.find((t) => t.name === "coadd")!.resolvedConfig).toEqual({});
  });

  it("names the line of each key of a block-style config", () => {
    const yaml = edit(CAMPAIGN, "config: {isr.saturation: 60000}\n", "config:\n  isr.doBias: false\n  isr.saturation: 60000\n");
    const isr = parseCampaign({ specYaml: yaml, sourceName: "c.yaml" }).tasks[0]!;
    expect(isr.resolvedConfig["doBias"]!.history[1]).toEqual({ value: false, source: `campaign c.yaml:${lineOf(yaml, "isr.doBias: false")}` });
    expect(isr.resolvedConfig["saturation"]!.history[1]).toEqual({ value: 60000, source: `campaign c.yaml:${lineOf(yaml, "isr.saturation: 60000")}` });
  });
});

describe("parseCampaign: refused files name FILE:LINE: path", () => {
  it("an unknown top-level field", () => {
    const yaml = edit(CAMPAIGN, "priority: 100\n", "priority: 100\ncolour: blue\n");
    expect(problemsOf({ specYaml: yaml })).toEqual([`campaign.yaml:${lineOf(yaml, "colour")}: colour: unknown field`]);
  });

  it("an unknown field inside a task, at its key's line", () => {
    const yaml = edit(CAMPAIGN, "      config: {doBias", "      resourcez:\n        cores: 2\n      config: {doBias");
    expect(problemsOf({ specYaml: yaml })).toEqual([`campaign.yaml:${lineOf(yaml, "resourcez:")}: pipeline.tasks.isr.resourcez: unknown field`]);
  });

  it("a field of the wrong type", () => {
    const yaml = edit(CAMPAIGN, "priority: 100", "priority: high");
    const [problem, ...more] = problemsOf({ specYaml: yaml });
    expect(more).toEqual([]);
    expect(problem).toMatch(/^campaign\.yaml:4: priority: must be a number, not the string "high"$/);
  });

  it("a wrong type deep in a task", () => {
    const yaml = edit(CAMPAIGN, "multiple: true", "multiple: yes-please");
    const [problem, ...more] = problemsOf({ specYaml: yaml });
    expect(more).toEqual([]);
    expect(problem).toMatch(new RegExp(`^campaign\\.yaml:${lineOf(yaml, "yes-please")}: pipeline\\.tasks\\.coadd\\.inputs\\.calexp\\.multiple: must be true or false, not the string "yes-please"$`));
  });

  it("a priority out of 0..1000", () => {
    const [problem] = problemsOf({ specYaml: edit(CAMPAIGN, "priority: 100", "priority: 2000") });
    expect(problem).toMatch(/^campaign\.yaml:4: priority: .*1000/);
    const [negative] = problemsOf({ specYaml: edit(CAMPAIGN, "priority: 100", "priority: -1") });
    expect(negative).toMatch(/^campaign\.yaml:4: priority: .*0/);
  });

  it("a --priority out of 0..1000", () => {
    expect(problemsOf({ specYaml: CAMPAIGN, priority: 1001 })).toEqual(["--priority: 1001: must be a whole number from 0 to 1000"]);
  });

  it("a campaign name that is not [a-z0-9-]", () => {
    for (const bad of ["Mini_DRP", "-mini", "a".repeat(64)]) {
      const [problem, ...more] = problemsOf({ specYaml: edit(CAMPAIGN, "name: mini-drp", `name: ${bad}`) });
      expect(more).toEqual([]);
      expect(problem).toBe("campaign.yaml:3: name: must be 1..63 of [a-z0-9-], starting and ending with a letter or digit");
    }
    expect(parseCampaign({ specYaml: edit(CAMPAIGN, "name: mini-drp", `name: ${"a".repeat(63)}`), sourceName: "c.yaml" }).name).toHaveLength(63);
  });

  it("task labels as pipelines write them: visitSummary, make-warp, up to 63 characters", () => {
    const long = `t${"x".repeat(62)}`;
    let yaml = edit(CAMPAIGN, "    calibrate:\n", "    visitSummary:\n");
    yaml = edit(yaml, "    coadd:\n", `    make-warp_2:\n`);
    yaml = edit(yaml, "    isr:\n", `    ${long}:\n`);
    yaml = edit(yaml, "config: {isr.saturation: 60000}", `config: {${long}.saturation: 60000, visitSummary.doApCorr: true}`);
    const spec = parseCampaign({ specYaml: yaml, sourceName: "c.yaml", configOverrides: ["make-warp_2.n=3"] });
    expect(spec.tasks.map((t) => t.name).sort()).toEqual([long, "make-warp_2", "visitSummary"].sort());
    const byName = new Map(spec.tasks.map((t) => [t.name, t]));
    expect(byName.get("visitSummary")?.config["doApCorr"]).toBe(true);
    expect(byName.get("make-warp_2")?.config["n"]).toBe(3);
    expect(byName.get(long)?.config["saturation"]).toBe(60000);
    for (const bad of ["9lives", "_private", "make.warp", "a b", `${long}y`]) {
      const refused = edit(CAMPAIGN, "    calibrate:\n", `    "${bad}":\n`);
      const problems = problemsOf({ specYaml: refused });
      expect(problems, bad).toContain(
        `campaign.yaml:${lineOf(refused, `"${bad}":`)}: pipeline.tasks.${bad}: task labels are 1..63 of [A-Za-z0-9_-] starting with a letter (isr, visitSummary, make-warp)`,
      );
      expect(problems.join("\n"), bad).not.toMatch(/Invalid key in record/);
    }
  });

  it("a config override for a task the pipeline lacks", () => {
    const yaml = edit(CAMPAIGN, "config: {isr.saturation: 60000}", "config: {isr.saturation: 60000, isrr.saturation: 1}");
    expect(problemsOf({ specYaml: yaml })).toEqual([`campaign.yaml:${lineOf(yaml, "isrr.saturation")}: config.isrr.saturation: no task named isrr in the pipeline`]);
  });

  it("a --config for a task the pipeline lacks, or not task.key=value", () => {
    expect(problemsOf({ specYaml: CAMPAIGN, configOverrides: ["nosuch.key=1", "saturation"] })).toEqual([
      "--config: nosuch.key=1: no task named nosuch in the pipeline",
      "--config: saturation: write --config task.key=value",
    ]);
  });

  it("a cycle between tasks, naming the tasks on it", () => {
    const yaml = `apiVersion: orrery/v1
kind: Campaign
name: loop
pipeline:
  tasks:
    first: {command: [a], dimensions: [detector], inputs: {raw: {datasetType: raw}}, outputs: {out: {datasetType: outA}}}
    left: {command: [a], dimensions: [detector], inputs: {x: {datasetType: outA}, y: {datasetType: fromRight}}, outputs: {out: {datasetType: fromLeft}}}
    right: {command: [b], dimensions: [detector], inputs: {x: {datasetType: fromLeft}}, outputs: {out: {datasetType: fromRight}}}
data: {scope: hsc}
output: {scope: out, run: r1}
`;
    expect(problemsOf({ specYaml: yaml })).toEqual(["campaign.yaml:5: pipeline.tasks: tasks form a cycle through their dataset types: left → right → left"]);
  });

  it("a task that reads its own output is a cycle", () => {
    const yaml = `apiVersion: orrery/v1
kind: Campaign
name: loop
pipeline:
  tasks:
    self: {command: [a], dimensions: [detector], inputs: {x: {datasetType: calexp}}, outputs: {out: {datasetType: calexp}}}
data: {scope: hsc}
output: {scope: out, run: r1}
`;
    expect(problemsOf({ specYaml: yaml })).toEqual(["campaign.yaml:5: pipeline.tasks: tasks form a cycle through their dataset types: self → self"]);
  });

  it("a dataset type produced by two tasks", () => {
    const yaml = edit(CAMPAIGN, "calexp: {datasetType: calexp}\n", "calexp: {datasetType: calexp}\n        again: {datasetType: postISRCCD}\n");
    expect(problemsOf({ specYaml: yaml })).toEqual([
      `campaign.yaml:${lineOf(yaml, "again:")}: pipeline.tasks.calibrate.outputs.again.datasetType: postISRCCD is also produced by task isr`,
    ]);
  });

  it("a YAML syntax error, at its line", () => {
    const yaml = edit(CAMPAIGN, "  scope: hsc\n", "  scope: hsc: drp\n");
    const [problem, ...more] = problemsOf({ specYaml: yaml });
    expect(more).toEqual([]);
    expect(problem).toMatch(new RegExp(`^campaign\\.yaml:${lineOf(yaml, "scope: hsc: drp")}: \\(file\\): \\S`));
  });

  it("a key written twice, at the second", () => {
    const yaml = edit(CAMPAIGN, "kind: Campaign\n", "kind: Campaign\nname: other\n");
    expect(problemsOf({ specYaml: yaml })).toEqual([`campaign.yaml:${lineOf(yaml, "name: mini-drp")}: (file): Map keys must be unique`]);
  });

  it("a problem in a separate pipeline file names that file", () => {
    const pipeline = `tasks:
  isr:
    command: [node, isr.mjs]
    dimensions: []
    inputs: {raw: {datasetType: raw}}
    outputs: {postISR: {datasetType: postISRCCD}}
`;
    const campaign = edit(CAMPAIGN, CAMPAIGN.slice(CAMPAIGN.indexOf("pipeline:"), CAMPAIGN.indexOf("data:")), "pipeline: {file: drp.yaml}\n");
    expect(problemsOf({ specYaml: campaign, pipelineYaml: pipeline, pipelineSourceName: "pipelines/drp.yaml" })).toEqual([
      "pipelines/drp.yaml:4: tasks.isr.dimensions: needs at least one dimension",
    ]);
    expect(problemsOf({ specYaml: campaign })).toEqual([`campaign.yaml:${lineOf(campaign, "pipeline:")}: pipeline.file: pipeline file drp.yaml was not provided`]);
  });

  it("an empty file", () => {
    expect(problemsOf({ specYaml: "" })).toEqual([expect.stringMatching(/^campaign\.yaml:1: \(file\): must be a map of fields, not null$/)]);
  });

  it("lists problems of the campaign file and of its pipeline file together", () => {
    const pipeline = "tasks:\n  isr:\n    command: [node, isr.mjs]\n    dimensions: [detector]\n    inputs: {raw: {datasetType: raw}}\n    outputs: {postISR: {datasetType: postISRCCD}}\n    colour: red\n";
    let campaign = edit(CAMPAIGN, CAMPAIGN.slice(CAMPAIGN.indexOf("pipeline:"), CAMPAIGN.indexOf("data:")), "pipeline: {file: drp.yaml}\n");
    campaign = edit(campaign, "priority: 100", "priority: 2000");
    const problems = problemsOf({ specYaml: campaign, pipelineYaml: pipeline, pipelineSourceName: "drp.yaml" });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^campaign\.yaml:4: priority: /);
    expect(problems[1]).toBe("drp.yaml:7: tasks.isr.colour: unknown field");
  });

  it("lists every problem at once", () => {
    let yaml = edit(CAMPAIGN, "name: mini-drp", "name: Mini_DRP");
    yaml = edit(yaml, "priority: 100", "priority: 2000");
    yaml = edit(yaml, "  scope: hsc\n", "  scope: hsc\n  colour: blue\n");
    yaml = edit(yaml, "run: mini-drp/run1", "run: 'bad run'");
    const problems = problemsOf({ specYaml: yaml });
    expect(problems).toHaveLength(4);
    expect(problems).toContain("campaign.yaml:3: name: must be 1..63 of [a-z0-9-], starting and ending with a letter or digit");
    expect(problems.some((p) => p.startsWith("campaign.yaml:4: priority: "))).toBe(true);
    expect(problems).toContain(`campaign.yaml:${lineOf(yaml, "colour")}: data.colour: unknown field`);
    expect(problems).toContain(`campaign.yaml:${lineOf(yaml, "bad run")}: output.run: must be a path like mini-drp/run1`);
  });

  it("lists schema problems together with pipeline and config problems", () => {
    let yaml = edit(CAMPAIGN, "priority: 100", "priority: 2000");
    yaml = edit(yaml, "config: {isr.saturation: 60000}", "config: {nosuch.saturation: 1}");
    yaml = edit(yaml, "calexp: {datasetType: calexp}\n", "calexp: {datasetType: calexp}\n        again: {datasetType: postISRCCD}\n");
    const problems = problemsOf({ specYaml: yaml, configOverrides: ["other.key=2"], priority: 5000 });
    expect(problems).toHaveLength(5);
    expect(problems.some((p) => p.startsWith("campaign.yaml:4: priority: "))).toBe(true);
    expect(problems).toContain(`campaign.yaml:${lineOf(yaml, "nosuch")}: config.nosuch.saturation: no task named nosuch in the pipeline`);
    expect(problems).toContain(`campaign.yaml:${lineOf(yaml, "again:")}: pipeline.tasks.calibrate.outputs.again.datasetType: postISRCCD is also produced by task isr`);
    expect(problems).toContain("--config: other.key=2: no task named other in the pipeline");
    expect(problems).toContain("--priority: 5000: must be a whole number from 0 to 1000");
  });

  it("a softTimeLimit longer than timeLimit, a task without a primary input", () => {
    const yaml = `apiVersion: orrery/v1
kind: Campaign
name: limits
pipeline:
  tasks:
    isr:
      command: [a]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {postISR: {datasetType: postISRCCD}}
      resources: {softTimeLimit: 2m, timeLimit: 90s}
    calibrate:
      command: [b]
      dimensions: [detector]
      inputs:
        bias: {datasetType: bias, calibration: true}
      outputs: {}
data: {scope: hsc}
output: {scope: out, run: r1}
`;
    expect(problemsOf({ specYaml: yaml })).toEqual([
      "campaign.yaml:11: pipeline.tasks.isr.resources.softTimeLimit: must not be longer than timeLimit",
      "campaign.yaml:15: pipeline.tasks.calibrate.inputs: a task needs at least one input that is not a calibration",
    ]);
  });
});

describe("parseCampaign: tasks with no outputs and the built-in noop", () => {
  const withTasks = (tasks: string) => `apiVersion: orrery/v1
kind: Campaign
name: builtin
pipeline:
  tasks:
${tasks}data: {scope: hsc}
output: {scope: out, run: r1}
`;

  it("accepts a task whose outputs are omitted or empty", () => {
    const spec = parseCampaign({
      sourceName: "campaign.yaml",
      specYaml: withTasks(`    check:
      command: [node, check.mjs, "{inputs.raw}"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
    probe:
      command: [/bin/true]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {}
`),
    });
    expect(spec.tasks.map((t) => [t.name, t.outputs])).toEqual([
      ["check", {}],
      ["probe", {}],
    ]);
  });

  it("accepts [orrery:noop] with no outputs", () => {
    const spec = parseCampaign({
      sourceName: "campaign.yaml",
      specYaml: withTasks(`    noop:
      command: ["orrery:noop"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
`),
    });
    expect(spec.tasks[0]!.command).toEqual(["orrery:noop"]);
    expect(spec.tasks[0]!.outputs).toEqual({});
  });

  it("refuses an unknown built-in, arguments to the noop, and outputs of the noop", () => {
    const yaml = withTasks(`    other:
      command: ["orrery:sleep", "1"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
    argued:
      command: ["orrery:noop", "now"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
    making:
      command: ["orrery:noop"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {out: {datasetType: calexp}}
`);
    expect(problemsOf({ specYaml: yaml })).toEqual([
      `campaign.yaml:${lineOf(yaml, "orrery:sleep")}: pipeline.tasks.other.command: orrery:sleep is not a built-in command; the built-in is orrery:noop`,
      `campaign.yaml:${lineOf(yaml, '"now"')}: pipeline.tasks.argued.command: orrery:noop takes no arguments`,
      `campaign.yaml:${lineOf(yaml, "outputs: {out")}: pipeline.tasks.making.outputs: orrery:noop makes no outputs; declare none`,
    ]);
  });
});
