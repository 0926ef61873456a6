// The synthetic campaign of the graph bench: how many raws and patches give
// exactly N quanta, the campaign file, and the catalog snapshot in the shape
// expandGraph takes (dataset type → CatalogFile[]), decoded the way
// fetchCatalog decodes the DBB's answer (parseDataId, JSON.parse of metadata).
import { parseDataId } from "../../dist/common/data-id.js";

export const DETECTORS = 200;
export const PATCHES_PER_TRACT = 100;
const EXPOSURE_0 = 900_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const EXPOSURE_EVERY_MS = 10 * 60_000;

/**
 * Raws and patches for exactly `total` quanta: three per-raw tasks (isr,
 * calibrate, measure) make 3 × raws, the coadd gather makes one per patch;
 * patches ≈ total / 1000 (nudged so total − patches divides by 3).
 * At 1,000,000: 333,000 raws (1665 exposures × 200 detectors) and 1000 patches.
 */
export function sizing(total) {
  if (!Number.isInteger(total) || total < 8) throw new Error(`--quanta must be a whole number ≥ 8, not ${total}`);
  let patches = Math.max(1, Math.round(total / 1000));
  while ((total - patches) % 3 !== 0) patches++;
  const raws = (total - patches) / 3;
  const detectors = Math.min(DETECTORS, raws);
  return { total, raws, patches, detectors, exposures: Math.ceil(raws / detectors), biases: 2 * detectors };
}

export function campaignYaml(name) {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
priority: 100
pipeline:
  tasks:
    isr:
      command: [isr.mjs, "{inputs.raw}", "{inputs.bias}", "{outputs.postISR}"]
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs:
        postISR: {datasetType: postISRCCD}
      resources: {memoryMB: 2048, timeLimit: 30m}
      config: {doOverscan: true}
    calibrate:
      command: [calibrate.mjs, "{inputs.postISR}", "{outputs.calexp}"]
      dimensions: [instrument, exposure, detector]
      inputs:
        postISR: {datasetType: postISRCCD}
      outputs:
        calexp: {datasetType: calexp}
      resources: {memoryMB: 3000, timeLimit: 1h}
    measure:
      command: [measure.mjs, "{inputs.calexp}", "{outputs.src}"]
      dimensions: [instrument, exposure, detector]
      inputs:
        calexp: {datasetType: calexp}
      outputs:
        src: {datasetType: src}
    coadd:
      command: [coadd.mjs, "{inputs.calexp}", "{outputs.coadd}"]
      dimensions: [instrument, tract, patch]
      inputs:
        calexp: {datasetType: calexp, multiple: true}
      outputs:
        coadd: {datasetType: deepCoadd}
      resources: {memoryMB: 8000, timeLimit: 4h}
      preemptible: false
data:
  scope: hsc
  where: {instrument: HSC}
output: {scope: hsc-drp, run: ${name}/run1}
`;
}

function hex(n, width) {
  return (n >>> 0).toString(16).padStart(width, "0");
}

/**
 * Raw i: exposure EXPOSURE_0 + ⌊i / detectors⌋, detector i mod detectors, on
 * patch group g = i mod patches (tract 9800 + ⌊g / 100⌋, patch g mod 100), so
 * every patch gathers raws/patches calexps from many exposures. Biases: two per
 * detector, the first valid until the middle exposure's obsTime, the second
 * from then on (half the isr quanta pick each).
 */
export function buildCatalog(size) {
  const { raws, patches, detectors, exposures } = size;
  const obsTime = (e) => new Date(T0 + e * EXPOSURE_EVERY_MS).toISOString();
  const split = obsTime(Math.floor(exposures / 2));
  const file = (datasetType, name, dataIdJson, metadataJson, bytes, seed, validFrom, validTo, rses) => ({
    scope: "hsc",
    name,
    datasetType,
    dataId: parseDataId(dataIdJson),
    metadata: metadataJson === "" ? {} : JSON.parse(metadataJson),
    bytes,
    adler32: hex(Math.imul(seed, 2654435761), 8),
    md5: hex(Math.imul(seed, 2246822519), 8) + hex(Math.imul(seed, 3266489917), 8) + hex(Math.imul(seed, 668265263), 8) + hex(seed, 8),
    validFrom,
    validTo,
    rses,
  });
  const rawFiles = new Array(raws);
  for (let i = 0; i < raws; i++) {
    const e = Math.floor(i / detectors);
    const exposure = EXPOSURE_0 + e;
    const detector = i % detectors;
    const g = i % patches;
    const tract = 9800 + Math.floor(g / PATCHES_PER_TRACT);
    const patch = g % PATCHES_PER_TRACT;
    const dataId = `{"detector":${detector},"exposure":${exposure},"instrument":"HSC","patch":${patch},"tract":${tract}}`;
    rawFiles[i] = file("raw", `raw/HSC/${exposure}/raw_HSC_${exposure}_${detector}.fits`, dataId, `{"obsTime":"${obsTime(e)}"}`, 18_000_000 + (i % 4096), i + 1, "", "", i % 2 === 0 ? ["site-a-disk"] : ["site-a-disk", "site-b-tape"]);
  }
  const biasFiles = [];
  for (let d = 0; d < detectors; d++) {
    const dataId = `{"detector":${d},"instrument":"HSC"}`;
    biasFiles.push(file("bias", `calib/HSC/bias/bias_${d}_a.fits`, dataId, "", 16_000_000, raws + 2 * d + 1, "2025-12-01T00:00:00.000Z", split, ["site-a-disk"]));
    biasFiles.push(file("bias", `calib/HSC/bias/bias_${d}_b.fits`, dataId, "", 16_000_000, raws + 2 * d + 2, split, "", ["site-a-disk"]));
  }
  return new Map([
    ["raw", rawFiles],
    ["bias", biasFiles],
  ]);
}
