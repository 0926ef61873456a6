// The parser pool contains what a hostile file can do to a parser: a refused
// file keeps its message, a stack overflow, a hang and an exhausted heap are
// each refused with SPEC_INVALID (exit 2), and the pool keeps answering.
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, OrreryError } from "../src/common/errors.js";
import { ParsePool } from "../src/common/parse-pool.js";

const ENTRY = new URL("./fixtures/parse-worker.mjs", import.meta.url);

async function refusal(p: Promise<unknown>): Promise<OrreryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OrreryError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("ParsePool", () => {
  let pool: ParsePool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it("answers with the worker's plain result, and a parser's refusal keeps its code, message and hint", async () => {
    pool = new ParsePool({ entry: ENTRY, size: 1 });
    await expect(pool.run("echo", { a: [1, "x"] })).resolves.toEqual({ echoed: { a: [1, "x"] } });
    const e = await refusal(pool.run("refuse", null));
    expect(e.code).toBe(ErrorCode.SPEC_INVALID);
    expect(e.message).toBe("f.yaml:1: (file): refused");
    expect(e.hint).toBe("fix it");
  });

  it("refuses a file that overflows the stack without losing the worker", async () => {
    pool = new ParsePool({ entry: ENTRY, size: 1 });
    const e = await refusal(pool.run("recurse", null));
    expect(e.code).toBe(ErrorCode.SPEC_INVALID);
    expect(e.message).toContain("too deeply nested");
    await expect(pool.run("echo", 1)).resolves.toEqual({ echoed: 1 });
  });

  it("refuses a file that runs past the time budget, replaces the worker, and goes on", async () => {
    pool = new ParsePool({ entry: ENTRY, size: 1, timeoutMs: 300 });
    const e = await refusal(pool.run("spin", null));
    expect(e.code).toBe(ErrorCode.SPEC_INVALID);
    expect(e.message).toContain("took longer than 0.3 s");
    await expect(pool.run("echo", 2)).resolves.toEqual({ echoed: 2 });
    expect(pool.replaced).toBe(1);
  });

  it("refuses a file that exhausts the worker's heap, replaces the worker, and the process lives on", async () => {
    pool = new ParsePool({ entry: ENTRY, size: 2, timeoutMs: 20_000, limits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 } });
    const [oom, ok] = await Promise.allSettled([pool.run("oom", null), pool.run("echo", 3)]);
    expect(ok).toEqual({ status: "fulfilled", value: { echoed: 3 } });
    expect(oom.status).toBe("rejected");
    const e = (oom as PromiseRejectedResult).reason as OrreryError;
    expect(e.code).toBe(ErrorCode.SPEC_INVALID);
    expect(e.message).toContain("within the parser's memory/time limits");
    await expect(pool.run("echo", 4)).resolves.toEqual({ echoed: 4 });
    expect(pool.replaced).toBe(1);
  });
});
