import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { jobScript, parseSqueue } from "./slurm.js";

describe("squeue output", () => {
  it("maps Slurm's states, keeps a name holding |, and skips lines of any other shape", () => {
    const out = ["12|PENDING|pilot-a", "13|RUNNING|pilot|b", "14|COMPLETING|c", "15|TIMEOUT|d", "16|CANCELLED|e", "17|WEIRD_NEW|f", "garbage", "", "|RUNNING|x", "18|running|y", "19_2|COMPLETED|z"].join("\n");
    expect(parseSqueue(out)).toEqual([
      { id: "12", name: "pilot-a", state: "pending" },
      { id: "13", name: "pilot|b", state: "running" },
      { id: "14", name: "c", state: "running" },
      { id: "15", name: "d", state: "failed" },
      { id: "16", name: "e", state: "cancelled" },
      { id: "17", name: "f", state: "unknown" },
      { id: "19_2", name: "z", state: "finished" },
    ]);
  });
});

describe("the job script", () => {
  it("execs argv word for word, quotes and all", () => {
    const argv = ["/bin/sh", "-c", 'printf "%s\\n" "$0" "$1"', "it's", "$HOME `x` \"y\""];
    const out = execFileSync("/bin/sh", ["-c", jobScript(argv)], { encoding: "utf8" });
    expect(out).toBe("it's\n$HOME `x` \"y\"\n");
  });
});
