import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isOrreryError } from "../../common/errors.js";
import { expandCommand, type TemplateContext } from "./templates.js";

const ctx: TemplateContext = {
  inputs: {
    raw: [{ did: "hsc:raw_1", path: "/s/inputs/raw_1.fits", dataId: { exposure: 1 } }],
    calexp: [
      { did: "hsc:c2", path: "/s/inputs/c2.fits", dataId: { visit: 2 } },
      { did: "hsc:c10", path: "/s/inputs/c10.fits", dataId: { visit: 10 } },
    ],
  },
  outputs: { postISR: [{ did: "drp:p_1", path: "/s/p_1.fits", dataId: { exposure: 1 } }] },
  dataId: { instrument: "HSC", exposure: 903334, detector: 16 },
  config: { doBias: true, saturation: 65000, "nested.flat": "f", deep: { level: 3 }, list: [1, 2] },
  quantumPath: "/s/quantum.json",
};

describe("command templates", () => {
  const root = mkdtempSync(join(tmpdir(), "orrery-sw-"));
  mkdirSync(join(root, "examples/mini-drp"), { recursive: true });
  writeFileSync(join(root, "examples/mini-drp/isr.mjs"), "");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("expands roles, data ids, config and the quantum file", () => {
    expect(
      expandCommand(
        ["prog", "{inputs.raw}", "{outputs.postISR}", "--det={dataId.detector}", "{config.saturation}", "{config.doBias}", "{quantum}"],
        ctx,
      ),
    ).toEqual(["prog", "/s/inputs/raw_1.fits", "/s/p_1.fits", "--det=16", "65000", "true", "/s/quantum.json"]);
  });

  it("gives a multi-dataset role one argument per dataset, space-joined inside a string", () => {
    expect(expandCommand(["coadd", "{inputs.calexp}", "-o", "{outputs.postISR}"], ctx)).toEqual([
      "coadd",
      "/s/inputs/c2.fits",
      "/s/inputs/c10.fits",
      "-o",
      "/s/p_1.fits",
    ]);
    expect(expandCommand(["coadd", "--in={inputs.calexp}"], ctx)).toEqual(["coadd", "--in=/s/inputs/c2.fits /s/inputs/c10.fits"]);
  });

  it("reads flat dotted and nested config keys", () => {
    expect(expandCommand(["p", "{config.nested.flat}", "{config.deep.level}", "{config.list}", "{config.deep}"], ctx)).toEqual([
      "p",
      "f",
      "3",
      "[1,2]",
      '{"level":3}',
    ]);
  });

  it("refuses an unknown template, naming it", () => {
    for (const [arg, name] of [
      ["{inputs.flat}", "{inputs.flat}"],
      ["x={dataId.visit}", "{dataId.visit}"],
      ["{config.missing}", "{config.missing}"],
      ["{bogus}", "{bogus}"],
    ] as const) {
      let caught: unknown;
      try {
        expandCommand(["p", arg], ctx);
      } catch (err) {
        caught = err;
      }
      expect(isOrreryError(caught, "INVALID_ARGUMENT")).toBe(true);
      expect((caught as Error).message).toContain(name);
    }
  });

  it("resolves the program and existing literal files against the software root", () => {
    expect(expandCommand(["node", "examples/mini-drp/isr.mjs", "{inputs.raw}", "examples/missing.mjs", "-v"], ctx, root)).toEqual([
      "node",
      join(root, "examples/mini-drp/isr.mjs"),
      "/s/inputs/raw_1.fits",
      "examples/missing.mjs",
      "-v",
    ]);
    expect(expandCommand(["bin/run", "x"], ctx, root)).toEqual([join(root, "bin/run"), "x"]);
    expect(expandCommand(["../escape/run", "/abs/file"], ctx, root)).toEqual(["../escape/run", "/abs/file"]);
  });
});
