// The mini-drp example: its FITS files, its data generator, and its three
// payloads run as real child processes on generated data.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BLOCK, FitsError, decodeFits, encodeFits, readFits, writeFits } from "../examples/mini-drp/fits.mjs";
import { generate, type ManifestEntry } from "../examples/mini-drp/generate.mjs";

const EXAMPLE = resolve(import.meta.dirname, "../examples/mini-drp");

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "orrery-mini-drp-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Runs an example script as its own process, in `cwd`. */
function run(script: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const res = spawnSync(process.execPath, [join(EXAMPLE, script), ...args], {
    cwd: opts.cwd ?? work,
    env: { ...process.env, ORRERY_QUANTUM: "", ...opts.env },
    encoding: "utf8",
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("FITS files", () => {
  it("round-trips a float image with its header, in 2880-byte blocks", () => {
    const data = Float32Array.from({ length: 7 * 5 }, (_, i) => i * 0.25 - 3);
    const path = join(work, "roundtrip", "float.fits");
    writeFits(path, {
      width: 7,
      height: 5,
      data,
      bitpix: -32,
      header: [
        { key: "OBJECT", value: "O'Brien field", comment: "a quote inside" },
        { key: "EXPTIME", value: 30.5, comment: "[s]" },
        { key: "CALIBRAT", value: true },
        { key: "NAXIS1", value: 999 }, // structural keys come from the image, not the caller
        { key: "HISTORY", value: "made by a test" },
      ],
    });
    const bytes = readFileSync(path);
    expect(bytes.length % BLOCK).toBe(0);
    expect(bytes.length).toBe(2 * BLOCK); // one header block, one data block
    const headerText = bytes.toString("latin1", 0, BLOCK);
    expect(headerText).toMatch(/^[\x20-\x7e]+$/);
    expect(headerText.slice(0, 80)).toBe("SIMPLE  =                    T / conforms to FITS standard".padEnd(80));
    const cards = headerText.match(/.{80}/g)!;
    expect(cards.map((c) => c.slice(0, 8).trim()).slice(0, 5)).toEqual(["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2"]);
    const end = cards.findIndex((c) => c.startsWith("END     "));
    expect(end).toBeGreaterThan(5);
    expect(cards.slice(end + 1).every((c) => c === " ".repeat(80))).toBe(true);
    // Big-endian IEEE: the first pixel, -3, is 0xC0400000; the data padding is zeros.
    expect([...bytes.subarray(BLOCK, BLOCK + 4)]).toEqual([0xc0, 0x40, 0x00, 0x00]);
    expect(bytes.subarray(BLOCK + data.length * 4).every((b) => b === 0)).toBe(true);

    const image = readFits(path);
    expect(image.width).toBe(7);
    expect(image.height).toBe(5);
    expect(image.bitpix).toBe(-32);
    expect([...image.data]).toEqual([...data]);
    expect(image.header.get("OBJECT")).toBe("O'Brien field");
    expect(image.header.get("EXPTIME")).toBe(30.5);
    expect(image.header.get("CALIBRAT")).toBe(true);
    expect(image.header.get("NAXIS1")).toBe(7);
    expect(image.cards.find((c) => c.key === "HISTORY")?.value).toBe("made by a test");
  });

  it("stores unsigned 16-bit counts with BZERO 32768, rounded and clipped", () => {
    const data = Float32Array.from([0, 1, 32767.6, 65535, 70000, -5]);
    const bytes = encodeFits({ width: 3, height: 2, data, bitpix: 16, header: [] });
    expect(bytes.length).toBe(2 * BLOCK);
    expect([...bytes.subarray(BLOCK, BLOCK + 2)]).toEqual([0x80, 0x00]); // 0 − 32768
    const image = decodeFits(bytes);
    expect(image.header.get("BITPIX")).toBe(16);
    expect(image.header.get("BZERO")).toBe(32768);
    expect([...image.data]).toEqual([0, 1, 32768, 65535, 65535, 0]);
  });

  it("refuses what is not a 2-D FITS image, saying why", () => {
    expect(() => decodeFits(Buffer.from("hello world"), "x.txt")).toThrow(FitsError);
    expect(() => decodeFits(Buffer.from("hello world"), "x.txt")).toThrow(/x\.txt: not a FITS file/);
    const good = encodeFits({ width: 4, height: 4, data: new Float32Array(16), header: [] });
    expect(() => decodeFits(good.subarray(0, BLOCK + 8), "cut.fits")).toThrow(/cut\.fits: truncated/);
  });
});

describe("data generator", () => {
  let dir: string;
  let manifest: ManifestEntry[];
  beforeAll(() => {
    dir = join(work, "gen-a");
    manifest = generate(dir);
  });

  it("writes 3 exposures × 4 detectors of raws, two biases per detector, and a manifest", () => {
    const files = listFiles(dir);
    expect(files.filter((f) => f.startsWith("raw/"))).toHaveLength(12);
    expect(files.filter((f) => f.startsWith("bias/"))).toHaveLength(8);
    expect(files).toContain("raw/r_903334_0.fits");
    expect(files).toContain("raw/r_903338_3.fits");

    const lines = readFileSync(join(dir, "manifest.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(20);
    const entries = lines.map((l) => JSON.parse(l) as ManifestEntry);
    expect(entries).toEqual(manifest);
    for (const e of entries) {
      expect(existsSync(join(dir, e.path))).toBe(true);
      expect(e.scope).toBe("hsc");
      expect(Object.keys(e).sort()).toEqual(["dataId", "datasetType", "metadata", "path", "scope", "validFrom", "validTo"]);
    }
    const raws = entries.filter((e) => e.datasetType === "raw");
    const biases = entries.filter((e) => e.datasetType === "bias");
    expect(new Set(raws.map((r) => r.dataId["exposure"]))).toEqual(new Set([903334, 903336, 903338]));
    for (const r of raws) {
      expect(r.dataId).toMatchObject({ instrument: "HSC", tract: 9813 });
      expect(r.dataId["patch"]).toBe(Math.floor(Number(r.dataId["detector"]) / 2) + 1);
      expect(r.validFrom).toBeNull();
      expect(r.validTo).toBeNull();
      // Exactly one bias of the raw's detector is valid at its obsTime.
      const t = Date.parse(r.metadata["obsTime"]!);
      const valid = biases.filter(
        (b) => b.dataId["detector"] === r.dataId["detector"] && Date.parse(b.validFrom!) <= t && t < Date.parse(b.validTo!),
      );
      expect(valid).toHaveLength(1);
    }
    for (const b of biases) expect(Object.keys(b.dataId).sort()).toEqual(["detector", "instrument"]);
  });

  it("writes raw headers an astronomer expects", () => {
    const raw = readFits(join(dir, "raw/r_903336_2.fits"));
    expect(raw.bitpix).toBe(16);
    expect([raw.width, raw.height]).toEqual([64, 64]);
    expect(raw.header.get("INSTRUME")).toBe("HSC");
    expect(raw.header.get("EXPID")).toBe(903336);
    expect(raw.header.get("DETECTOR")).toBe(2);
    expect(raw.header.get("EXPTIME")).toBe(30);
    expect(raw.header.get("FILTER")).toBe("HSC-R");
    expect(String(raw.header.get("DATE-OBS"))).toMatch(/^2026-03-01T\d\d:\d\d:\d\d$/);
    expect(raw.header.get("OBJECT")).toBeTypeOf("string");
  });

  it("is deterministic for a seed and differs for another", () => {
    const again = join(work, "gen-b");
    const other = join(work, "gen-c");
    generate(again);
    generate(other, { seed: 2, exposures: 1, detectors: 1, size: 32 });
    for (const f of listFiles(dir)) expect(readFileSync(join(again, f)).equals(readFileSync(join(dir, f)))).toBe(true);
    expect(readFileSync(join(other, "raw/r_903334_0.fits")).equals(readFileSync(join(dir, "raw/r_903334_0.fits")))).toBe(false);
    expect(listFiles(other)).toEqual(["bias/bias_0_20260228.fits", "bias/bias_0_20260301.fits", "manifest.jsonl", "raw/r_903334_0.fits"]);
  });

  it("runs from the command line and rejects bad options", () => {
    const ok = run("generate.mjs", [join(work, "gen-cli"), "--exposures", "2", "--detectors", "1", "--size", "32"]);
    expect(ok.status).toBe(0);
    expect(listFiles(join(work, "gen-cli")).filter((f) => f.startsWith("raw/"))).toHaveLength(2);
    const bad = run("generate.mjs", [join(work, "gen-bad"), "--exposures", "many"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--exposures needs an integer");
  });
});

describe("payloads", () => {
  let data: string;
  let out: string;
  beforeAll(() => {
    data = join(work, "payload-data");
    out = join(work, "payload-out");
    generate(data, { exposures: 2, detectors: 1, size: 48 });
  });

  const raw = (e: number) => join(data, `raw/r_${e}_0.fits`);
  const bias = () => join(data, "bias/bias_0_20260301.fits");

  it("isr subtracts the bias and keeps the raw header", () => {
    const res = run("isr.mjs", [raw(903334), bias(), join(out, "post_903334.fits")]);
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    const post = readFits(join(out, "post_903334.fits"));
    const r = readFits(raw(903334));
    const b = readFits(bias());
    expect(post.bitpix).toBe(-32);
    expect(post.data.every((v, i) => v === r.data[i]! - b.data[i]!)).toBe(true);
    for (const key of ["DATE-OBS", "INSTRUME", "EXPID", "DETECTOR", "EXPTIME", "FILTER", "OBJECT"]) {
      expect(post.header.get(key)).toEqual(r.header.get(key));
    }
    expect(post.header.get("ISR_BIAS")).toBe("bias_0_20260301.fits");
    expect(post.header.has("BZERO")).toBe(false);
    expect(post.cards.some((c) => c.key === "HISTORY" && String(c.value).includes("bias_0_20260301.fits"))).toBe(true);
  });

  it("isr takes its config from $ORRERY_QUANTUM when the agent gives one", () => {
    const quantum = join(work, "quantum.json");
    writeFileSync(quantum, JSON.stringify({ config: { doBias: false, saturation: 1000 } }));
    const res = run("isr.mjs", [raw(903334), bias(), join(out, "nobias.fits")], { env: { ORRERY_QUANTUM: quantum } });
    expect(res.status).toBe(0);
    const post = readFits(join(out, "nobias.fits"));
    expect([...post.data]).toEqual([...readFits(raw(903334)).data]);
    expect(post.header.get("ISR_BIAS")).toBe("NONE");
    expect(post.header.get("NSATUR")).toBe(post.data.length); // every raw pixel is above 1000 ADU
  });

  it("calibrate subtracts the background and writes metrics.json", () => {
    const cwd = join(work, "calibrate-scratch");
    expect(run("isr.mjs", [raw(903334), bias(), join(cwd, "post.fits")]).status).toBe(0);
    const res = run("calibrate.mjs", ["post.fits", "calexp.fits"], { cwd });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    const calexp = readFits(join(cwd, "calexp.fits"));
    const bg = calexp.header.get("BGMEAN") as number;
    expect(bg).toBeGreaterThan(170); // the generator's sky is 180 ADU in the first exposure
    expect(bg).toBeLessThan(190);
    expect(calexp.header.get("BGSTD")).toBeGreaterThan(5);
    expect(calexp.header.get("NSTARS")).toBeGreaterThanOrEqual(1);
    expect(calexp.header.get("CALIBRAT")).toBe(true);
    const metrics = JSON.parse(readFileSync(join(cwd, "metrics.json"), "utf8")) as Record<string, number>;
    expect(Object.keys(metrics).sort()).toEqual(["background", "nStars", "noise"]);
    expect(metrics["background"]).toBeCloseTo(bg, 3);
    expect(metrics["nStars"]).toBe(calexp.header.get("NSTARS"));
    const post = readFits(join(cwd, "post.fits"));
    expect(calexp.data[100]).toBeCloseTo(post.data[100]! - metrics["background"]!, 3);
  });

  it("coadd of two identical inputs equals the input", () => {
    const cwd = join(work, "coadd-scratch");
    expect(run("isr.mjs", [raw(903336), bias(), join(cwd, "post.fits")]).status).toBe(0);
    expect(run("calibrate.mjs", ["post.fits", "a.fits"], { cwd }).status).toBe(0);
    writeFileSync(join(cwd, "b.fits"), readFileSync(join(cwd, "a.fits")));
    const res = run("coadd.mjs", ["coadd.fits", "a.fits", "b.fits"], { cwd });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    const coadd = readFits(join(cwd, "coadd.fits"));
    expect([...coadd.data]).toEqual([...readFits(join(cwd, "a.fits")).data]);
    expect(coadd.header.get("NCOMBINE")).toBe(2);
    expect(coadd.header.get("EXPTIME")).toBe(60);
    expect(coadd.cards.filter((c) => c.key === "HISTORY").map((c) => c.value)).toEqual(["coadd input: a.fits", "coadd input: b.fits"]);
  });

  it("bad input exits non-zero with a message naming the problem", () => {
    const cases: [string, string[], RegExp][] = [
      ["isr.mjs", [raw(903334), bias()], /expected 3 arguments/],
      ["isr.mjs", [join(data, "nope.fits"), bias(), join(out, "x.fits")], /nope\.fits does not exist/],
      ["isr.mjs", [join(data, "manifest.jsonl"), bias(), join(out, "x.fits")], /manifest\.jsonl: not a FITS file/],
      ["calibrate.mjs", [raw(903334), join(out, "x.fits")], /not been through isr/],
      ["coadd.mjs", [join(out, "x.fits")], /at least one input/],
    ];
    for (const [script, args, message] of cases) {
      const res = run(script, args);
      expect(res.status, `${script} ${args.join(" ")}`).toBe(2);
      expect(res.stderr).toMatch(message);
    }
    // A shape mismatch names the odd file.
    const small = join(work, "small");
    generate(small, { exposures: 1, detectors: 1, size: 32 });
    const cwd = join(work, "coadd-scratch");
    const res = run("coadd.mjs", ["bad.fits", "a.fits", join(small, "raw/r_903334_0.fits")], { cwd });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/coadd: r_903334_0\.fits is 32×32 but a\.fits is 48×48/);
    expect(existsSync(join(cwd, "bad.fits"))).toBe(false);
  });
});
