import { ErrorCode, OrreryError } from "../../common/errors.js";
import { formatProblem, type SpecProblem } from "../../common/yaml-problems.js";

export { PositionedYaml, formatProblem, zodProblems, type SpecProblem } from "../../common/yaml-problems.js";

export function specInvalid(problems: SpecProblem[]): OrreryError {
  const lines = problems.map(formatProblem);
  return new OrreryError(ErrorCode.SPEC_INVALID, `campaign refused, ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${lines.join("\n")}`, {
    hint: "fix the fields above and submit again; nothing was stored",
  });
}
