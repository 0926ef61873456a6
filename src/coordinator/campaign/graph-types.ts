// The shapes of an expanded quantum graph, shared by the expansion and its helpers.
import type { DataId } from "../../common/data-id.js";

/** A file the catalog already holds. */
export interface CatalogFile {
  scope: string;
  name: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  bytes: number;
  adler32: string;
  md5: string;
  validFrom: string;
  validTo: string;
  rses: string[];
}

/** A dataset a quantum reads or writes: an existing file, or the output of another quantum. */
export interface PlannedDataset {
  did: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  /** Index of the quantum that makes it; undefined for a catalog file. */
  producer: number | undefined;
  file: CatalogFile | undefined;
}

export interface PlannedQuantum {
  task: string;
  dataId: DataId;
  inputs: { role: string; dataset: PlannedDataset }[];
  outputs: { role: string; dataset: PlannedDataset }[];
  upstream: number[];
}

export interface PlannedGraph {
  quanta: PlannedQuantum[];
  edges: number;
  tasks: Record<string, { quanta: number; dropped: number }>;
  inputs: { datasets: number; bytes: number };
}
