import { ErrorCode, OrreryError } from "../../common/errors.js";
import { formatProblem, type SpecProblem } from "../../common/yaml-problems.js";
import { capProblemLines } from "../../common/untrusted-text.js";

export { PositionedYaml, formatProblem, zodProblems, type SpecProblem } from "../../common/yaml-problems.js";

export function specInvalid(problems: SpecProblem[]): OrreryError {
  // One line per distinct problem: a parser that repeats itself must not bury the first one.
  const { shown, distinct } = capProblemLines(problems.map(formatProblem));
  return new OrreryError(ErrorCode.SPEC_INVALID, `campaign refused, ${distinct} problem${distinct === 1 ? "" : "s"}:\n${shown.join("\n")}`, {
    hint: "fix the fields above and submit again; nothing was stored",
  });
}
