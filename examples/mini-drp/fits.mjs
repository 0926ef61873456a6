// Minimal FITS (Flexible Image Transport System) reader and writer for 2-D
// images in the primary HDU: 80-character ASCII header cards ending with END,
// header and data padded to 2880-byte blocks, big-endian pixels.
// Enough for the mini-drp payloads; no extensions, no compression.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const BLOCK = 2880;
const CARD = 80;

/** @typedef {string | number | boolean | null} CardValue */
/** @typedef {{key: string, value: CardValue, comment?: string}} Card */
/** @typedef {{header: Card[], width: number, height: number, data: Float32Array, bitpix?: 16 | -32}} FitsImage */
/** @typedef {{header: Map<string, CardValue>, cards: Card[], width: number, height: number, bitpix: number, data: Float32Array}} FitsFile */

/** Keys the writer owns: it writes them itself from width/height/bitpix, in this order. */
const STRUCTURAL = new Set(["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO", "BSCALE", "END"]);
/** Cards without "= ": their value is free text. */
const COMMENTARY = new Set(["HISTORY", "COMMENT", ""]);

/** A file or image that breaks the format: bad input, not a bug. */
export class FitsError extends Error {}

/** @param {string} msg */
function fail(msg) {
  return new FitsError(`FITS: ${msg}`);
}

/** @param {number} n */
function formatNumber(n) {
  if (!Number.isFinite(n)) throw fail(`header values must be finite numbers, got ${n}`);
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  // A real value needs a '.' or an exponent; FITS exponents are upper-case.
  let text = String(n).toUpperCase();
  if (text.length > 20) text = n.toExponential(12).toUpperCase();
  if (!/[.E]/.test(text)) text += ".";
  return text;
}

/** @param {CardValue} value */
function formatValue(value) {
  if (typeof value === "boolean") return (value ? "T" : "F").padStart(20);
  if (typeof value === "number") return formatNumber(value).padStart(20);
  if (value === null) return "".padStart(20);
  // Strings: quotes doubled, at least 8 characters between the quotes.
  const inner = value.replace(/'/g, "''").padEnd(8);
  if (inner.length > 68) throw fail(`string value too long for one card: '${value.slice(0, 20)}…'`);
  return `'${inner}'`;
}

/** One 80-character card. @param {Card} card */
export function formatCard(card) {
  const key = card.key.toUpperCase();
  if (!/^[A-Z0-9_-]{0,8}$/.test(key)) throw fail(`keyword "${card.key}" must be 1–8 of A–Z 0–9 _ -`);
  let text;
  if (COMMENTARY.has(key)) {
    text = key.padEnd(8) + String(card.value ?? "");
  } else {
    text = `${key.padEnd(8)}= ${formatValue(card.value)}`;
    if (card.comment) text += ` / ${card.comment}`;
  }
  if (/[^\x20-\x7e]/.test(text)) throw fail(`card ${key} holds characters outside printable ASCII`);
  return text.slice(0, CARD).padEnd(CARD);
}

/** @param {number} n */
function padded(n) {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/**
 * Encodes an image. BITPIX 16 stores unsigned counts with BZERO 32768 (values
 * rounded and clipped to 0..65535); BITPIX -32 stores IEEE floats.
 * @param {FitsImage} image
 * @returns {Buffer}
 */
export function encodeFits({ header, width, height, data, bitpix = -32 }) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw fail(`image size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height) throw fail(`data has ${data.length} pixels, expected ${width}×${height}`);
  if (bitpix !== 16 && bitpix !== -32) throw fail(`BITPIX ${bitpix} is not supported (use 16 or -32)`);
  /** @type {Card[]} */
  const cards = [
    { key: "SIMPLE", value: true, comment: "conforms to FITS standard" },
    { key: "BITPIX", value: bitpix, comment: bitpix === 16 ? "16-bit integers" : "32-bit IEEE floats" },
    { key: "NAXIS", value: 2, comment: "number of axes" },
    { key: "NAXIS1", value: width, comment: "columns" },
    { key: "NAXIS2", value: height, comment: "rows" },
  ];
  if (bitpix === 16) {
    cards.push({ key: "BZERO", value: 32768, comment: "unsigned 16-bit counts" }, { key: "BSCALE", value: 1 });
  }
  for (const card of header) if (!STRUCTURAL.has(card.key.toUpperCase())) cards.push(card);
  const text = cards.map(formatCard).join("") + "END".padEnd(CARD);
  const headerBytes = padded(text.length);
  const dataBytes = width * height * (bitpix === 16 ? 2 : 4);
  const out = Buffer.alloc(headerBytes + padded(dataBytes)); // data padding: zeros
  out.write(text.padEnd(headerBytes), 0, "ascii"); // header padding: spaces
  const view = new DataView(out.buffer, out.byteOffset + headerBytes, dataBytes);
  for (let i = 0; i < data.length; i++) {
    const v = /** @type {number} */ (data[i]);
    if (bitpix === 16) {
      const counts = Number.isNaN(v) ? 0 : Math.min(65535, Math.max(0, Math.round(v)));
      view.setInt16(i * 2, counts - 32768, false);
    } else {
      view.setFloat32(i * 4, v, false);
    }
  }
  return out;
}

/** @param {string} path @param {FitsImage} image */
export function writeFits(path, image) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeFits(image));
}

/** @param {string} text the 70 characters after "= " */
function parseValue(text) {
  const s = text.trimStart();
  if (s.startsWith("'")) {
    let value = "";
    let i = 1;
    for (;;) {
      const q = s.indexOf("'", i);
      if (q < 0) throw fail(`unterminated string in "${text.trim()}"`);
      value += s.slice(i, q);
      if (s[q + 1] === "'") {
        value += "'";
        i = q + 2;
        continue;
      }
      const rest = s.slice(q + 1);
      const slash = rest.indexOf("/");
      return { value: value.trimEnd(), comment: slash >= 0 ? rest.slice(slash + 1).trim() : "" };
    }
  }
  const slash = s.indexOf("/");
  const raw = (slash >= 0 ? s.slice(0, slash) : s).trim();
  const comment = slash >= 0 ? s.slice(slash + 1).trim() : "";
  /** @type {CardValue} */
  let value;
  if (raw === "T" || raw === "F") value = raw === "T";
  else if (raw === "") value = null;
  else if (/^[+-]?(\d+\.?\d*|\.\d+)([ED][+-]?\d+)?$/i.test(raw)) value = Number(raw.replace(/d/i, "E"));
  else value = raw; // complex numbers and other rarities stay as text
  return { value, comment };
}

/**
 * Decodes a FITS file holding a 2-D image in its primary HDU.
 * @param {Buffer} buf
 * @param {string} [name] for error messages
 * @returns {FitsFile}
 */
export function decodeFits(buf, name = "input") {
  /** @type {Card[]} */
  const cards = [];
  if (!/^SIMPLE  = +T/.test(buf.toString("latin1", 0, 30))) throw fail(`${name}: not a FITS file (it does not start with SIMPLE = T)`);
  let offset = 0;
  let ended = false;
  while (!ended) {
    if (offset + CARD > buf.length) throw fail(`${name}: no END card before the end of the file`);
    const text = buf.toString("latin1", offset, offset + CARD);
    offset += CARD;
    const key = text.slice(0, 8).trim();
    if (key === "END") ended = true;
    else if (text.slice(8, 10) === "= " && !COMMENTARY.has(key)) cards.push({ key, ...parseValue(text.slice(10)) });
    else if (key !== "" || text.trim() !== "") cards.push({ key, value: text.slice(8).trimEnd() });
  }
  /** @type {Map<string, CardValue>} */
  const header = new Map();
  for (const c of cards) if (!COMMENTARY.has(c.key) && !header.has(c.key)) header.set(c.key, c.value);
  const bitpix = Number(header.get("BITPIX"));
  const naxis = Number(header.get("NAXIS"));
  if (naxis !== 2) throw fail(`${name}: NAXIS is ${header.get("NAXIS")}, only 2-D images are supported`);
  const width = Number(header.get("NAXIS1"));
  const height = Number(header.get("NAXIS2"));
  const bytesPer = Math.abs(bitpix) / 8;
  if (![8, 16, 32, -32, -64].includes(bitpix)) throw fail(`${name}: BITPIX ${header.get("BITPIX")} is not supported`);
  if (!(width > 0 && height > 0)) throw fail(`${name}: bad image size ${width}×${height}`);
  const start = padded(offset);
  const n = width * height;
  if (start + n * bytesPer > buf.length) {
    throw fail(`${name}: truncated — data needs ${n * bytesPer} bytes, file has ${buf.length - start}`);
  }
  const bzero = Number(header.get("BZERO") ?? 0);
  const bscale = Number(header.get("BSCALE") ?? 1);
  const view = new DataView(buf.buffer, buf.byteOffset + start, n * bytesPer);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v;
    switch (bitpix) {
      case 8: v = view.getUint8(i); break;
      case 16: v = view.getInt16(i * 2, false); break;
      case 32: v = view.getInt32(i * 4, false); break;
      case -32: v = view.getFloat32(i * 4, false); break;
      default: v = view.getFloat64(i * 8, false);
    }
    data[i] = bitpix > 0 ? bzero + bscale * v : v;
  }
  return { header, cards, width, height, bitpix, data };
}

/** @param {string} path @returns {FitsFile} */
export function readFits(path) {
  return decodeFits(readFileSync(path), path);
}

/** The cards a derived image keeps from its source: all but the structural ones. @param {Card[]} cards */
export function carriedCards(cards) {
  return cards.filter((c) => !STRUCTURAL.has(c.key));
}
