// The graph bench's baseline: the same expansion rules as the coordinator's
// expandGraph (CONTRACT.md "Expansion rules"), written compactly — datasets
// and quanta are rows of integer-indexed tables (typed arrays), data ids are
// shared with the catalog where the rules make them equal, output names are
// not stored (they derive from task + data id), and keys are joined values
// instead of canonical JSON. It shows what a compact in-memory index costs in
// time and heap, and its counts are checked against the product's.
import { compareSorted, sortedKeys } from "../../dist/common/data-id.js";
import { whereMatches } from "../../dist/coordinator/campaign/index.js";

/** A growable Int32 column. */
class IntColumn {
  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
    this.length = 0;
  }
  push(v) {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  toArray() {
    return this.data.slice(0, this.length);
  }
}

const SEP = "\u0001";
const keyOf = (dataId, keys) => {
  let k = "";
  for (const key of keys) k += String(dataId[key]) + SEP;
  return k;
};

// compareDataIds sorts both key lists per call; a data id's sorted keys are kept once here.
const sortedKeyCache = new WeakMap();
function keysOf(dataId) {
  let k = sortedKeyCache.get(dataId);
  if (k === undefined) sortedKeyCache.set(dataId, (k = sortedKeys(dataId)));
  return k;
}
const compareIds = (a, b) => compareSorted(a, keysOf(a), b, keysOf(b));

export function compactExpand(spec, catalog) {
  // Dataset table: one row per catalog file the campaign sees and per planned output.
  const dsDataId = [];
  const dsObsTime = [];
  const dsFile = []; // CatalogFile, or undefined for a planned output
  const dsProducer = new IntColumn(1 << 16); // quantum row, −1 for a catalog file
  const addDataset = (dataId, obsTime, file, producer) => {
    dsDataId.push(dataId);
    dsObsTime.push(obsTime);
    dsFile.push(file);
    dsProducer.push(producer);
    return dsDataId.length - 1;
  };
  const byType = new Map(); // dataset type → dataset rows (catalog files, or an earlier task's outputs)
  const candidates = (type) => {
    let rows = byType.get(type);
    if (rows === undefined) {
      rows = [];
      for (const f of catalog.get(type) ?? []) {
        if (whereMatches(f.dataId, spec.data.where)) rows.push(addDataset(f.dataId, f.metadata.obsTime, f, -1));
      }
      byType.set(type, rows);
    }
    return rows;
  };

  // Quantum table.
  const qTask = new IntColumn(1 << 16);
  const qDataId = [];
  const inStart = new IntColumn(1 << 16);
  const inRows = new IntColumn(1 << 16);
  const upStart = new IntColumn(1 << 16);
  const upRows = new IntColumn(1 << 16);
  const tasks = {};
  const usedFiles = new Set(); // catalog rows some quantum reads
  let edges = 0;
  const timeOf = new Map();
  const parseTime = (s) => {
    let t = timeOf.get(s);
    if (t === undefined) timeOf.set(s, (t = Date.parse(s)));
    return t;
  };

  spec.tasks.forEach((task, taskIndex) => {
    const dims = task.dimensions;
    const roles = Object.entries(task.inputs).map(([role, r]) => ({ role, ...r, index: indexRows(dims, candidates(r.datasetType), dsDataId) }));
    const primary = roles.filter((r) => !r.calibration);
    const calibrations = roles.filter((r) => r.calibration).map((r) => ({
      ...r,
      from: new Map(r.index.rows.map((row) => [row, dsFile[row]?.validFrom ? Date.parse(dsFile[row].validFrom) : -Infinity])),
      to: new Map(r.index.rows.map((row) => [row, dsFile[row]?.validTo ? Date.parse(dsFile[row].validTo) : Infinity])),
    }));
    const ids = new Map();
    for (const r of primary) {
      for (const row of r.index.rows) {
        const d = dsDataId[row];
        if (!dims.every((k) => k in d)) continue;
        const key = keyOf(d, dims);
        if (!ids.has(key)) ids.set(key, dims.length === Object.keys(d).length ? d : Object.fromEntries(dims.map((k) => [k, d[k]])));
      }
    }
    let count = 0;
    let dropped = 0;
    const outputTypes = Object.values(task.outputs).map((o) => o.datasetType);
    const outputs = outputTypes.map(() => []);
    const found = [];
    // Quantum data ids all carry exactly the task's dimensions: compare on them in key order (compareDataIds' order).
    const sortedDims = [...dims].sort();
    const byDims = (a, b) => compareSorted(a, sortedDims, b, sortedDims);
    for (const q of [...ids.values()].sort(byDims)) {
      found.length = 0;
      let drop = false;
      for (const r of primary) {
        const rows = r.index.matching(q);
        if (rows.length === 0) drop = true;
        else if (rows.length > 1 && !r.multiple) throw new Error(`task ${task.name}, role ${r.role}: ${rows.length} datasets match one quantum`);
        else {
          if (rows.length > 1) rows.sort((a, b) => compareIds(dsDataId[a], dsDataId[b]));
          for (const row of rows) found.push(row);
        }
      }
      if (drop) {
        dropped++;
        continue;
      }
      const nPrimary = found.length;
      const obsTime = dsObsTime[found[0]];
      for (const r of calibrations) {
        const t = typeof obsTime === "string" ? parseTime(obsTime) : NaN;
        const valid = r.index.matching(q).filter((row) => r.from.get(row) <= t && t < r.to.get(row));
        if (valid.length !== 1) throw new Error(`task ${task.name}, role ${r.role}: ${valid.length} calibrations valid at ${obsTime}`);
        found.push(valid[0]);
      }
      const row = qTask.length;
      qTask.push(taskIndex);
      qDataId.push(q);
      inStart.push(inRows.length);
      upStart.push(upRows.length);
      for (const i of found) {
        inRows.push(i);
        const p = dsProducer.data[i];
        if (p < 0) usedFiles.add(i);
        else {
          let seen = false;
          for (let j = upStart.data[row]; j < upRows.length; j++) if (upRows.data[j] === p) seen = true;
          if (!seen) {
            upRows.push(p);
            edges++;
          }
        }
      }
      // Output data id: the quantum's plus the keys all primary inputs agree on; one input's own when there is one.
      const first = dsDataId[found[0]];
      let outId = q;
      if (nPrimary === 1) outId = dims.every((k) => first[k] === q[k]) ? first : { ...first, ...q };
      else if (first) {
        outId = { ...q };
        for (const [k, v] of Object.entries(first)) if (!(k in outId) && found.slice(0, nPrimary).every((i) => dsDataId[i][k] === v)) outId[k] = v;
      }
      const outObs = obsTime !== undefined && found.slice(0, nPrimary).every((i) => dsObsTime[i] === obsTime) ? obsTime : undefined;
      outputs.forEach((list) => list.push(addDataset(outId, outObs, undefined, row)));
      count++;
    }
    outputTypes.forEach((type, i) => byType.set(type, outputs[i]));
    tasks[task.name] = { quanta: count, dropped };
  });
  inStart.push(inRows.length);
  upStart.push(upRows.length);

  let bytes = 0;
  for (const i of usedFiles) bytes += dsFile[i].bytes;
  return {
    quanta: qTask.length,
    edges,
    tasks,
    inputs: { datasets: usedFiles.size, bytes },
    tables: {
      quantumTask: Uint8Array.from(qTask.toArray()),
      quantumDataId: qDataId,
      inputStart: inStart.toArray(),
      inputRows: inRows.toArray(),
      upstreamStart: upStart.toArray(),
      upstreamRows: upRows.toArray(),
      datasetDataId: dsDataId,
      datasetFile: dsFile,
      datasetProducer: dsProducer.toArray(),
    },
  };
}

const NONE = [];

/** Dataset rows of one role, grouped by which of the task's dimensions they carry, then by those values. */
function indexRows(dims, rows, dsDataId) {
  const groups = new Map();
  for (const row of rows) {
    const d = dsDataId[row];
    const keys = dims.filter((k) => k in d);
    const sig = keys.join(SEP);
    let g = groups.get(sig);
    if (g === undefined) groups.set(sig, (g = { keys, map: new Map() }));
    const key = keyOf(d, keys);
    const list = g.map.get(key);
    if (list === undefined) g.map.set(key, [row]);
    else list.push(row);
  }
  const all = [...groups.values()];
  return {
    rows,
    matching(q) {
      if (all.length === 1) return all[0].map.get(keyOf(q, all[0].keys)) ?? NONE; // callers only read it or sort it in place
      const out = [];
      for (const { keys, map } of all) for (const row of map.get(keyOf(q, keys)) ?? []) out.push(row);
      return out;
    },
  };
}
