// What the three mini-drp payloads share: argument errors with exit codes, a
// one-line stderr message instead of a stack, optional config from the
// quantum.json the Orrery agent names in $ORRERY_QUANTUM, and image statistics.
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { FitsError } from "./fits.mjs";

/** An error the payload reports as `NAME: message` and exits with `exitCode`. */
export class PayloadError extends Error {
  /** @param {string} message @param {number} [exitCode] 2 for bad input (not worth retrying), 1 otherwise */
  constructor(message, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs a payload's main function; any error becomes one stderr line and a non-zero exit.
 * @param {string} name
 * @param {(args: string[]) => void} main
 */
export function runPayload(name, main) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    const code = err instanceof PayloadError ? err.exitCode : err instanceof FitsError ? 2 : 1;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: ${message}\n`);
    process.exit(code);
  }
}

/** Throws a usage error unless each path exists and is a file. @param {string[]} paths */
export function requireInputs(paths) {
  for (const p of paths) if (!existsSync(p)) throw new PayloadError(`input ${p} does not exist`);
}

/**
 * The task's resolved config from quantum.json ($ORRERY_QUANTUM), or {} when
 * run by hand. Command-line arguments always say which files to use.
 * @returns {Record<string, unknown>}
 */
export function quantumConfig() {
  const file = process.env["ORRERY_QUANTUM"];
  if (!file) return {};
  let quantum;
  try {
    quantum = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new PayloadError(`$ORRERY_QUANTUM=${file} is not readable JSON: ${err instanceof Error ? err.message : err}`);
  }
  const config = quantum && typeof quantum === "object" ? quantum.config : undefined;
  return config && typeof config === "object" && !Array.isArray(config) ? config : {};
}

/**
 * A number from config, with a default; a value that is not a number is bad input.
 * @param {Record<string, unknown>} config @param {string} key @param {number} fallback
 */
export function configNumber(config, key, fallback) {
  const v = config[key];
  if (v === undefined || v === null) return fallback;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) throw new PayloadError(`config ${key} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** @param {Record<string, unknown>} config @param {string} key @param {boolean} fallback */
export function configBoolean(config, key, fallback) {
  const v = config[key];
  if (v === undefined || v === null) return fallback;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  throw new PayloadError(`config ${key} must be true or false, got ${JSON.stringify(v)}`);
}

/** Requires two images to have the same shape, naming the one that differs. */
export function requireSameShape(
  /** @type {{width: number, height: number}} */ ref,
  /** @type {string} */ refPath,
  /** @type {{width: number, height: number}} */ img,
  /** @type {string} */ path,
) {
  if (img.width !== ref.width || img.height !== ref.height) {
    throw new PayloadError(
      `${basename(path)} is ${img.width}×${img.height} but ${basename(refPath)} is ${ref.width}×${ref.height}; inputs must have the same shape`,
    );
  }
}

/** @param {Float64Array} sorted */
function median(sorted) {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}

/**
 * Sigma-clipped median and standard deviation: iterate, keeping pixels within
 * `nSigma` of the median, so stars do not bias the background.
 * @param {Float32Array} data @param {number} [nSigma] @param {number} [iterations]
 */
export function clippedStats(data, nSigma = 3, iterations = 5) {
  let values = Float64Array.from(data.filter((v) => Number.isFinite(v))).sort();
  if (values.length === 0) throw new PayloadError("image has no finite pixels");
  let center = median(values);
  let std = 0;
  for (let it = 0; it < iterations; it++) {
    let sum = 0;
    for (const v of values) sum += (v - center) ** 2;
    std = Math.sqrt(sum / Math.max(1, values.length - 1));
    const lo = center - nSigma * std;
    const hi = center + nSigma * std;
    const kept = values.filter((v) => v >= lo && v <= hi);
    if (kept.length === values.length || kept.length === 0) break;
    values = kept;
    center = median(values);
  }
  return { median: center, std };
}
