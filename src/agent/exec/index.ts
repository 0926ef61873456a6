export { expandCommand, type LocalDataset, type TemplateContext } from "./templates.js";
export { runPayload, type PayloadEnd, type PayloadRun, type PayloadSpec } from "./payload.js";
export { checkDisk, DEFAULT_DISK_SAMPLE_MS, freeBytes, treeBytes, watchDisk, type DiskLimits, type DiskOverrun } from "./disk-watch.js";
export { killOrphanGroup, processGroupId, type OrphanKill, type ProcessGroupId } from "./process-group.js";
export { sampleProcessTree, procAvailable, type TreeSample } from "./process-tree.js";
export {
  byRole,
  createScratch,
  inputPaths,
  outputPaths,
  parseConfig,
  removeScratch,
  scratchDirOf,
  tailOf,
  writeQuantumFile,
  type QuantumDocument,
  type ScratchDir,
} from "./scratch.js";
