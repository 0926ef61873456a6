// Entry of the CLI's parser workers (file-parser.ts): a site policy or an
// ingest manifest is parsed and validated here, under memory and time limits.
import { serveParseRequests } from "../common/parse-worker-host.js";
import { parseManifest, parsePolicyYaml } from "../dbb/index.js";

interface FileInput {
  file: string;
  text: string;
}

serveParseRequests({
  policy: (input) => {
    const { file, text } = input as FileInput;
    const { policy, at } = parsePolicyYaml(file, text);
    // The locator stays here; the CLI gets the lines of the fields it may report on later.
    const lines: Record<string, number> = { site: at.problem(["site"], "").line };
    policy.subscriptions.forEach((s, i) =>
      s.rules.forEach((_, j) => {
        const path = ["subscriptions", i, "rules", j, "rseExpression"];
        lines[path.join(".")] = at.problem(path, "").line;
      }),
    );
    return { policy, lines };
  },
  manifest: (input) => {
    const { file, text } = input as FileInput;
    return parseManifest(text, file);
  },
});
