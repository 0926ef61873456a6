import { describe, expect, it } from "vitest";
import { campaignJsonSchema } from "./schema.js";

type Json = Record<string, unknown>;
const at = (node: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((n, k) => (n as Record<string | number, unknown> | undefined)?.[k], node);

describe("campaignJsonSchema", () => {
  const schema = campaignJsonSchema();

  it("is draft 2020-12 and round-trips through JSON", () => {
    expect(schema["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it("describes the campaign file's fields, with the ones that have defaults optional", () => {
    const props = schema["properties"] as Json;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(["apiVersion", "kind", "name", "priority", "pipeline", "data", "config", "retries", "sites", "output", "reuse"]));
    expect(schema["required"]).toEqual(expect.arrayContaining(["apiVersion", "kind", "name", "pipeline", "data", "output"]));
    expect(schema["required"]).not.toContain("priority");
    expect(schema["additionalProperties"]).toBe(false);
    expect(at(props, "apiVersion", "const")).toBe("orrery/v1");
    expect(at(props, "priority", "maximum")).toBe(1000);
  });

  it("accepts durations as written: a string like 90s or a number of seconds", () => {
    const resources = at(schema, "properties", "pipeline", "anyOf", 0, "properties", "tasks", "additionalProperties", "properties", "resources", "properties") as Json;
    for (const field of ["timeLimit", "softTimeLimit"]) {
      const d = resources[field] as Json;
      const [str, num] = d["anyOf"] as Json[];
      expect(str).toMatchObject({ type: "string" });
      expect(num).toMatchObject({ type: "number" });
      const pattern = new RegExp(str!["pattern"] as string);
      for (const ok of ["90s", "15m", "2h", "7d", "30"]) expect(pattern.test(ok), ok).toBe(true);
      expect(pattern.test("soon")).toBe(false);
    }
  });
});
