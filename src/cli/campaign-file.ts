// Reads a campaign file (and its `pipeline: {file: …}`) into a SubmitRequest.
// The coordinator validates the spec; here we only find the files to send, so
// a YAML the CLI cannot parse still goes to the server for FILE:LINE errors.
import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { MAX_ALIAS_COUNT, checkSize, yamlDepthOver, type UntrustedKind } from "../common/untrusted-text.js";
import type { SubmitRequestSchema } from "../gen/orrery/v1/coordinator_pb.js";

/**
 * How long plan and submit wait for the coordinator: it reads the whole
 * catalog query, expands and (submit) stores the graph, about a minute for a
 * million quanta. A submit that outlives the wait still completes there.
 */
export const EXPANSION_TIMEOUT_MS = 600_000;

export type SubmitRequestInit = MessageInitShape<typeof SubmitRequestSchema>;

export interface SubmitOptions {
  config?: readonly string[] | undefined;
  priority?: number | undefined;
}

/** Why a file could not be read, in words (`no such file`), for one-line errors. */
export function describeReadError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

async function readText(path: string, kind: UntrustedKind, what: string, hint: string): Promise<string> {
  try {
    // The size first: a file over the cap is refused without being read.
    checkSize(kind, path, (await stat(path)).size);
    return await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof OrreryError) throw err;
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `cannot read ${what} ${path}: ${describeReadError(err)}`, {
      cause: err,
      hint,
    });
  }
}

/** The `pipeline.file` of a campaign YAML, or undefined when inline, absent, or the YAML does not parse. */
export function pipelineFileOf(specYaml: string): string | undefined {
  let doc: unknown;
  // Too deep a file would crash this parser (see untrusted-text.ts); the coordinator refuses it with its line.
  if (yamlDepthOver(specYaml) !== undefined) return undefined;
  try {
    doc = parse(specYaml, { maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== "object") return undefined;
  const pipeline = (doc as Record<string, unknown>)["pipeline"];
  if (pipeline === null || typeof pipeline !== "object") return undefined;
  const file = (pipeline as Record<string, unknown>)["file"];
  return typeof file === "string" && file !== "" ? file : undefined;
}

/** `task.key=value`: anything else is refused here, before a round trip. */
export function checkConfigOverride(entry: string): string {
  const eq = entry.indexOf("=");
  const key = eq > 0 ? entry.slice(0, eq) : "";
  if (!/^[^.=\s]+\.[^=\s]+$/.test(key)) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--config ${entry}: expected task.key=value`, {
      hint: "name the task and the key, e.g. --config isr.saturation=60000",
    });
  }
  return entry;
}

export function parsePriority(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 1000) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--priority ${value}: expected a whole number from 0 to 1000`);
  }
  return n;
}

/** Builds the request from FILE as the user gave it; a pipeline file is relative to FILE's folder. */
export async function readSubmitRequest(file: string, opts: SubmitOptions = {}): Promise<SubmitRequestInit> {
  const specYaml = await readText(file, "campaign", "campaign file", "check the path; it is relative to the current directory");
  const request: SubmitRequestInit = {
    specYaml,
    sourceName: file,
    configOverrides: (opts.config ?? []).map(checkConfigOverride),
  };
  if (opts.priority !== undefined) request.priority = opts.priority;
  const pipelineFile = pipelineFileOf(specYaml);
  if (pipelineFile !== undefined) {
    const path = isAbsolute(pipelineFile) ? pipelineFile : join(dirname(file), pipelineFile);
    request.pipelineYaml = await readText(
      path,
      "pipeline",
      "pipeline file",
      `\`pipeline: {file: ${pipelineFile}}\` in ${file} is relative to that file's folder`,
    );
    request.pipelineSourceName = path;
  }
  return request;
}
