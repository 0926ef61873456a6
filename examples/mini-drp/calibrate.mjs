#!/usr/bin/env node
// Calibrates a post-ISR frame: measures the sky background (sigma-clipped
// median and standard deviation), subtracts it, and counts sources.
//
//   node calibrate.mjs IN OUT
//
// Writes OUT (calexp, 32-bit floats) with BGMEAN, BGSTD, NSTARS and
// CALIBRAT = T, and metrics.json in the working directory:
// {background, noise, nStars}. Config from $ORRERY_QUANTUM (optional):
// clipSigma (default 3), detectThreshold (σ, default 5).
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { carriedCards, readFits, writeFits } from "./fits.mjs";
import { PayloadError, clippedStats, configNumber, quantumConfig, requireInputs, runPayload } from "./payload-io.mjs";

/**
 * Counts groups of 4-connected pixels above the threshold: a crude but honest
 * source count for well separated stars.
 * @param {Float32Array} data @param {number} width @param {number} height @param {number} threshold
 */
function countSources(data, width, height, threshold) {
  const seen = new Uint8Array(data.length);
  let groups = 0;
  const stack = [];
  for (let start = 0; start < data.length; start++) {
    if (seen[start] || !(/** @type {number} */ (data[start]) > threshold)) continue;
    groups++;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const i = /** @type {number} */ (stack.pop());
      const x = i % width;
      const y = (i - x) / width;
      const neighbours = [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, y > 0 ? i - width : -1, y < height - 1 ? i + width : -1];
      for (const j of neighbours) {
        if (j >= 0 && !seen[j] && /** @type {number} */ (data[j]) > threshold) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  return groups;
}

runPayload("calibrate", (args) => {
  if (args.length !== 2) throw new PayloadError(`expected 2 arguments IN OUT, got ${args.length}`);
  const [inPath, outPath] = /** @type {[string, string]} */ (args);
  requireInputs([inPath]);
  const config = quantumConfig();
  const clipSigma = configNumber(config, "clipSigma", 3);
  const detectThreshold = configNumber(config, "detectThreshold", 5);

  const image = readFits(inPath);
  if (image.bitpix > 0 && image.header.get("ISR_BIAS") === undefined) {
    throw new PayloadError(`${basename(inPath)} has not been through isr (no ISR_BIAS keyword); run isr.mjs first`);
  }
  const { median: background, std: noise } = clippedStats(image.data, clipSigma);
  const out = image.data.map((v) => v - background);
  const nStars = countSources(out, image.width, image.height, detectThreshold * noise);

  writeFits(outPath, {
    bitpix: -32,
    width: image.width,
    height: image.height,
    data: out,
    header: [
      ...carriedCards(image.cards).filter((c) => !["BGMEAN", "BGSTD", "NSTARS", "CALIBRAT"].includes(c.key)),
      { key: "BGMEAN", value: Number(background.toFixed(4)), comment: "[ADU] sky background subtracted" },
      { key: "BGSTD", value: Number(noise.toFixed(4)), comment: "[ADU] background noise (clipped std)" },
      { key: "NSTARS", value: nStars, comment: `sources above ${detectThreshold} sigma` },
      { key: "CALIBRAT", value: true, comment: "background subtracted" },
      { key: "HISTORY", value: `calibrate: background ${background.toFixed(2)} subtracted, ${nStars} sources` },
    ],
  });
  writeFileSync("metrics.json", `${JSON.stringify({ background, noise, nStars })}\n`);
});
