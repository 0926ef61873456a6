#!/usr/bin/env node
// Coadds calibrated exposures: the pixel-by-pixel mean of the inputs.
//
//   node coadd.mjs OUT IN1 [IN2 …]
//
// All inputs must have the same shape (else exit 2 naming the odd one). Writes
// OUT (deepCoadd, 32-bit floats) with NCOMBINE, the summed EXPTIME, the shared
// descriptive keys of the first input, and one HISTORY card per input.
import { basename } from "node:path";
import { readFits, writeFits } from "./fits.mjs";
import { PayloadError, requireInputs, requireSameShape, runPayload } from "./payload-io.mjs";

/** Keys describing the field rather than one exposure: carried from the first input. */
const SHARED_KEYS = ["INSTRUME", "FILTER", "OBJECT", "TRACT", "PATCH"];

runPayload("coadd", (args) => {
  if (args.length < 2) throw new PayloadError(`expected OUT and at least one input, got ${args.length} argument(s)`);
  const [outPath, ...inPaths] = /** @type {[string, ...string[]]} */ (args);
  requireInputs(inPaths);

  const first = readFits(/** @type {string} */ (inPaths[0]));
  const sum = new Float64Array(first.data.length);
  let exptime = 0;
  for (const path of inPaths) {
    const image = path === inPaths[0] ? first : readFits(path);
    requireSameShape(first, /** @type {string} */ (inPaths[0]), image, path);
    if (image.header.get("CALIBRAT") !== true) {
      throw new PayloadError(`${basename(path)} is not calibrated (no CALIBRAT = T); coadd takes calexps`);
    }
    for (let i = 0; i < sum.length; i++) sum[i] = /** @type {number} */ (sum[i]) + /** @type {number} */ (image.data[i]);
    const t = image.header.get("EXPTIME");
    if (typeof t === "number") exptime += t;
  }
  const data = Float32Array.from(sum, (v) => v / inPaths.length);

  /** @type {import("./fits.mjs").Card[]} */
  const header = [];
  for (const key of SHARED_KEYS) {
    const card = first.cards.find((c) => c.key === key);
    if (card) header.push(card);
  }
  header.push(
    { key: "NCOMBINE", value: inPaths.length, comment: "number of inputs averaged" },
    { key: "EXPTIME", value: exptime, comment: "[s] total exposure time" },
    ...inPaths.map((p) => ({ key: "HISTORY", value: `coadd input: ${basename(p)}` })),
  );
  writeFits(outPath, { bitpix: -32, width: first.width, height: first.height, data, header });
});
