#!/usr/bin/env node
// Writes a small, deterministic HSC-like data set for the mini-drp campaign:
// raw science frames (bias + sky + stars + noise), master bias frames for two
// validity periods (the observing night and the night before, with a different
// level so a wrong match shows), and an ingest manifest in the CONTRACT format.
//
//   node generate.mjs OUT_DIR [--exposures N] [--detectors M] [--size PX] [--seed S]
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { writeFits } from "./fits.mjs";

/** @typedef {{exposures?: number, detectors?: number, size?: number, seed?: number}} GenerateOptions */
/** @typedef {{path: string, scope: string, datasetType: "raw" | "bias", dataId: Record<string, string | number>, metadata: Record<string, string>, validFrom: string | null, validTo: string | null}} ManifestEntry */

export const FIRST_EXPOSURE = 903334;
export const TRACT = 9813;
/** The observing night: exposures start at NIGHT_START + 4h05m06s, 10 minutes apart. */
const NIGHT_START = Date.parse("2026-03-01T00:00:00Z");
const DAY = 86_400_000;
const FILTER = "HSC-R";

/** Detectors 0–1 are patch 1, 2–3 patch 2, …: two detectors per patch. @param {number} detector */
export function patchOf(detector) {
  return Math.floor(detector / 2) + 1;
}

/** Mulberry32: a tiny seeded PRNG, so the same seed gives the same bytes. @param {number} seed */
export function prng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, gauss };
}

/** Bias pattern of a detector: a level plus a gentle column ramp. @param {number} detector @param {number} period 0 = this night */
function biasLevel(detector, period) {
  const level = 1000 + 25 * detector - 40 * period; // older bias: 40 ADU lower
  return (/** @type {number} */ x) => level + 0.5 * x;
}

/** @param {string} iso */
const fitsDate = (iso) => iso.replace(/Z$/, "");
/** @param {number} ms */
const isoDate = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");
/** @param {number} ms */
const dayStamp = (ms) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "");

/**
 * Generates the data set into outDir and returns the manifest entries.
 * @param {string} outDir
 * @param {GenerateOptions} [options]
 * @returns {ManifestEntry[]}
 */
export function generate(outDir, options = {}) {
  const { exposures = 3, detectors = 4, size = 64, seed = 1 } = options;
  for (const [name, v] of Object.entries({ exposures, detectors, size, seed })) {
    if (!Number.isInteger(v) || v < (name === "seed" ? 0 : 1)) throw new Error(`--${name} must be a positive integer, got ${v}`);
  }
  if (size < 16) throw new Error(`--size must be at least 16 pixels, got ${size}`);
  /** @type {ManifestEntry[]} */
  const manifest = [];

  for (let d = 0; d < detectors; d++) {
    for (const period of [1, 0]) {
      const validFrom = NIGHT_START - period * DAY;
      const validTo = validFrom + DAY;
      const bias = biasLevel(d, period);
      const rand = prng(seed * 7919 + d * 31 + period);
      const data = new Float32Array(size * size);
      // A master bias is an average of many frames: its noise is small.
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = Math.round(bias(x) + 0.5 * rand.gauss());
      const path = `bias/bias_${d}_${dayStamp(validFrom)}.fits`;
      writeFits(join(outDir, path), {
        bitpix: 16, width: size, height: size, data,
        header: [
          { key: "DATE-OBS", value: fitsDate(isoDate(validFrom)), comment: "start of validity" },
          { key: "INSTRUME", value: "HSC", comment: "Hyper Suprime-Cam" },
          { key: "DETECTOR", value: d, comment: "detector number" },
          { key: "OBSTYPE", value: "BIAS", comment: "master bias" },
          { key: "VALIDFRM", value: isoDate(validFrom) },
          { key: "VALIDTO", value: isoDate(validTo) },
        ],
      });
      manifest.push({
        path, scope: "hsc", datasetType: "bias",
        dataId: { instrument: "HSC", detector: d },
        metadata: {}, validFrom: isoDate(validFrom), validTo: isoDate(validTo),
      });
    }
  }

  for (let d = 0; d < detectors; d++) {
    // Stars are fixed on the sky: the same positions in every exposure of a detector.
    const starRand = prng(seed * 104729 + d);
    const stars = Array.from({ length: 3 + (d % 3) }, () => ({
      x: 6 + starRand.uniform() * (size - 12),
      y: 6 + starRand.uniform() * (size - 12),
      flux: 4000 + starRand.uniform() * 12000,
      sigma: 1.2 + starRand.uniform() * 0.6,
    }));
    const bias = biasLevel(d, 0);
    for (let e = 0; e < exposures; e++) {
      const exposure = FIRST_EXPOSURE + 2 * e;
      const obsTime = isoDate(NIGHT_START + (4 * 3600 + 5 * 60 + 6) * 1000 + e * 600_000);
      const sky = 180 + 15 * e;
      const rand = prng(seed * 15485863 + exposure * 131 + d);
      const data = new Float32Array(size * size);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          let signal = sky;
          for (const s of stars) {
            const r2 = (x - s.x) ** 2 + (y - s.y) ** 2;
            signal += (s.flux / (2 * Math.PI * s.sigma ** 2)) * Math.exp(-r2 / (2 * s.sigma ** 2));
          }
          // Poisson-ish photon noise plus 5 ADU read noise.
          const noise = Math.sqrt(signal + 25) * rand.gauss();
          data[y * size + x] = Math.round(bias(x) + signal + noise);
        }
      }
      const path = `raw/r_${exposure}_${d}.fits`;
      writeFits(join(outDir, path), {
        bitpix: 16, width: size, height: size, data,
        header: [
          { key: "DATE-OBS", value: fitsDate(obsTime), comment: "start of exposure (UTC)" },
          { key: "INSTRUME", value: "HSC", comment: "Hyper Suprime-Cam" },
          { key: "EXPID", value: exposure, comment: "exposure id" },
          { key: "DETECTOR", value: d, comment: "detector number" },
          { key: "EXPTIME", value: 30, comment: "[s] exposure time" },
          { key: "FILTER", value: FILTER },
          { key: "OBJECT", value: "SSP-WIDE", comment: "target field" },
          { key: "OBSTYPE", value: "SCIENCE" },
          { key: "TRACT", value: TRACT },
          { key: "PATCH", value: patchOf(d) },
        ],
      });
      manifest.push({
        path, scope: "hsc", datasetType: "raw",
        dataId: { instrument: "HSC", exposure, detector: d, tract: TRACT, patch: patchOf(d) },
        metadata: { obsTime }, validFrom: null, validTo: null,
      });
    }
  }

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "manifest.jsonl"), manifest.map((m) => JSON.stringify(m)).join("\n") + "\n");
  return manifest;
}

/** @param {string[]} argv */
function parseArgs(argv) {
  const usage = "usage: node generate.mjs OUT_DIR [--exposures N] [--detectors M] [--size PX] [--seed S]";
  /** @type {GenerateOptions} */
  const options = {};
  let outDir;
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    const m = /^--(exposures|detectors|size|seed)(?:=(.*))?$/.exec(arg);
    if (m) {
      const text = m[2] ?? argv[++i];
      const n = Number(text);
      if (text === undefined || !Number.isInteger(n)) throw new Error(`--${m[1]} needs an integer\n${usage}`);
      options[/** @type {keyof GenerateOptions} */ (m[1])] = n;
    } else if (arg === "-h" || arg === "--help") {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    } else if (arg.startsWith("-") || outDir !== undefined) {
      throw new Error(`unexpected argument "${arg}"\n${usage}`);
    } else outDir = arg;
  }
  if (outDir === undefined) throw new Error(`OUT_DIR is missing\n${usage}`);
  return { outDir: resolve(outDir), options };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const { outDir, options } = parseArgs(process.argv.slice(2));
    const manifest = generate(outDir, options);
    const raws = manifest.filter((m) => m.datasetType === "raw").length;
    process.stderr.write(`generate: wrote ${raws} raw and ${manifest.length - raws} bias frames and manifest.jsonl to ${outDir}\n`);
  } catch (err) {
    process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
