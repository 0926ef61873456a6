export { DbbLookup } from "./dbb-lookup.js";
export { stageInFile, type StageInContext, type StagedInput } from "./stage-in.js";
export {
  registerOutputs,
  uploadOutputs,
  uploadProvenance,
  type ProducedOutput,
  type RegistrationContext,
  type StagedOutput,
} from "./stage-out.js";
