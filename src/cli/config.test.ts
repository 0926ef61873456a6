import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { GetConfigResponseSchema } from "../gen/orrery/v1/coordinator_pb.js";
import { configLines, configToJson } from "./config.js";

const RESPONSE = create(GetConfigResponseSchema, {
  campaign: "mini",
  tasks: [
    {
      task: "isr",
      entries: [
        {
          key: "saturation",
          valueJson: "60000",
          history: [
            { valueJson: "65000", source: "pipeline c.yaml:14" },
            { valueJson: "62000", source: "campaign c.yaml:25" },
            { valueJson: "60000", source: "--config" },
          ],
        },
        { key: "mode", valueJson: '"fast"', history: [{ valueJson: '"fast"', source: "pipeline c.yaml:14" }] },
        { key: "doBias", valueJson: "true", history: [{ valueJson: "true", source: "pipeline c.yaml:14" }] },
      ],
    },
    { task: "coadd", entries: [] },
  ],
});

describe("config output", () => {
  it("prints the CONTRACT's JSON with typed values, every task included", () => {
    expect(configToJson(RESPONSE)).toEqual({
      isr: {
        saturation: {
          value: 60000,
          history: [
            { value: 65000, source: "pipeline c.yaml:14" },
            { value: 62000, source: "campaign c.yaml:25" },
            { value: 60000, source: "--config" },
          ],
        },
        mode: { value: "fast", history: [{ value: "fast", source: "pipeline c.yaml:14" }] },
        doBias: { value: true, history: [{ value: true, source: "pipeline c.yaml:14" }] },
      },
      coadd: {},
    });
  });

  it("prints task.key = value lines", () => {
    expect(configLines(configToJson(RESPONSE), false)).toEqual(['isr.saturation = 60000', 'isr.mode = "fast"', "isr.doBias = true", "# coadd: no config"]);
  });

  it("with history, follows each value with its sources in order, the winner last", () => {
    const lines = configLines(configToJson(RESPONSE), true);
    expect(lines.slice(0, 4)).toEqual([
      "isr.saturation = 60000",
      "    65000  pipeline c.yaml:14  (overridden)",
      "    62000  campaign c.yaml:25  (overridden)",
      "    60000  --config",
    ]);
    expect(lines).toContain('    "fast"  pipeline c.yaml:14');
  });
});
