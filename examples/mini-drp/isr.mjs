#!/usr/bin/env node
// Instrument signature removal: subtracts the master bias from a raw frame.
//
//   node isr.mjs RAW BIAS OUT
//
// Writes OUT as 32-bit floats with the raw header kept, ISR_BIAS naming the
// bias used and a HISTORY card. Config from $ORRERY_QUANTUM (optional):
// doBias (default true), saturation (ADU; pixels at or above it are counted
// in NSATUR).
import { basename } from "node:path";
import { carriedCards, readFits, writeFits } from "./fits.mjs";
import { PayloadError, configBoolean, configNumber, quantumConfig, requireInputs, requireSameShape, runPayload } from "./payload-io.mjs";

runPayload("isr", (args) => {
  if (args.length !== 3) throw new PayloadError(`expected 3 arguments RAW BIAS OUT, got ${args.length}`);
  const [rawPath, biasPath, outPath] = /** @type {[string, string, string]} */ (args);
  requireInputs([rawPath, biasPath]);
  const config = quantumConfig();
  const doBias = configBoolean(config, "doBias", true);
  const saturation = configNumber(config, "saturation", 65000);

  const raw = readFits(rawPath);
  const bias = readFits(biasPath);
  requireSameShape(raw, rawPath, bias, biasPath);
  const rawDetector = raw.header.get("DETECTOR");
  const biasDetector = bias.header.get("DETECTOR");
  if (rawDetector !== undefined && biasDetector !== undefined && rawDetector !== biasDetector) {
    throw new PayloadError(`${basename(biasPath)} is for detector ${biasDetector} but ${basename(rawPath)} is detector ${rawDetector}`);
  }

  const out = new Float32Array(raw.data.length);
  let saturated = 0;
  for (let i = 0; i < out.length; i++) {
    const v = /** @type {number} */ (raw.data[i]);
    if (v >= saturation) saturated++;
    out[i] = doBias ? v - /** @type {number} */ (bias.data[i]) : v;
  }

  writeFits(outPath, {
    bitpix: -32,
    width: raw.width,
    height: raw.height,
    data: out,
    header: [
      ...carriedCards(raw.cards),
      { key: "ISR_BIAS", value: doBias ? basename(biasPath) : "NONE", comment: "master bias subtracted" },
      { key: "SATURATE", value: saturation, comment: "[ADU] saturation level" },
      { key: "NSATUR", value: saturated, comment: "pixels at or above SATURATE" },
      { key: "HISTORY", value: doBias ? `isr: subtracted bias ${basename(biasPath)}` : "isr: bias subtraction off (doBias=false)" },
    ],
  });
});
