export { expandCommand, type LocalDataset, type TemplateContext } from "./templates.js";
export { runPayload, type PayloadEnd, type PayloadRun, type PayloadSpec } from "./payload.js";
export { sampleProcessTree, procAvailable, type TreeSample } from "./process-tree.js";
export {
  byRole,
  createScratch,
  inputPaths,
  outputPaths,
  parseConfig,
  removeScratch,
  tailOf,
  writeQuantumFile,
  type QuantumDocument,
  type ScratchDir,
} from "./scratch.js";
