// Command templates of a task: `{inputs.ROLE}`, `{outputs.ROLE}`,
// `{dataId.KEY}`, `{config.KEY}` and `{quantum}`, expanded into the argv of
// the payload. Relative program paths resolve against the software root.
import { existsSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import type { DataId } from "../../common/data-id.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";

/** One dataset of a role as the payload sees it. */
export interface LocalDataset {
  did: string;
  path: string;
  dataId: DataId;
}

export interface TemplateContext {
  /** Datasets per role, each list already in data-id order. */
  inputs: Record<string, LocalDataset[]>;
  outputs: Record<string, LocalDataset[]>;
  dataId: DataId;
  config: Record<string, unknown>;
  /** Path of quantum.json. */
  quantumPath: string;
}

const TEMPLATE = /\{([^{}]*)\}/g;

/**
 * Expands a task's command. An argument that is exactly `{inputs.ROLE}` or
 * `{outputs.ROLE}` becomes one argument per dataset; inside a longer string
 * the paths are joined by spaces. Throws INVALID_ARGUMENT naming an unknown
 * template. With `softwareRoot`, program and literal paths are made absolute.
 */
export function expandCommand(command: readonly string[], ctx: TemplateContext, softwareRoot?: string): string[] {
  if (command.length === 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "the task has an empty command", { hint: "give the task a command in the pipeline" });
  }
  const argv: string[] = [];
  command.forEach((arg, index) => {
    const whole = /^\{([^{}]*)\}$/.exec(arg);
    if (whole) {
      argv.push(...lookup(whole[1]!, ctx, arg));
      return;
    }
    if (arg.includes("{")) {
      argv.push(arg.replace(TEMPLATE, (_m, name: string) => lookup(name, ctx, arg).join(" ")));
      return;
    }
    argv.push(softwareRoot === undefined ? arg : resolveLiteral(arg, index, softwareRoot));
  });
  return argv;
}

function lookup(name: string, ctx: TemplateContext, arg: string): string[] {
  const unknown = (why: string) =>
    new OrreryError(ErrorCode.INVALID_ARGUMENT, `unknown template {${name}} in command argument "${arg}": ${why}`, {
      hint: "use {inputs.ROLE}, {outputs.ROLE}, {dataId.KEY}, {config.KEY} or {quantum}",
    });
  if (name === "quantum") return [ctx.quantumPath];
  const dot = name.indexOf(".");
  const head = dot < 0 ? name : name.slice(0, dot);
  const key = dot < 0 ? "" : name.slice(dot + 1);
  switch (head) {
    case "inputs":
    case "outputs": {
      const datasets = ctx[head][key];
      if (datasets === undefined) {
        const roles = Object.keys(ctx[head]);
        throw unknown(`the task has no ${head.slice(0, -1)} role "${key}" (roles: ${roles.join(", ") || "none"})`);
      }
      return datasets.map((d) => d.path);
    }
    case "dataId": {
      const value = ctx.dataId[key];
      if (value === undefined) throw unknown(`the quantum's data id has no key "${key}"`);
      return [String(value)];
    }
    case "config": {
      const value = configValue(ctx.config, key);
      if (value === undefined) throw unknown(`the resolved config has no key "${key}"`);
      return [typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)];
    }
    default:
      throw unknown("not a known kind of template");
  }
}

/** `a.b` is the flat key "a.b" if present, else the nested path a → b. */
function configValue(config: Record<string, unknown>, key: string): unknown {
  if (key === "") return undefined;
  if (Object.hasOwn(config, key)) return config[key];
  let node: unknown = config;
  for (const part of key.split(".")) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * The program (argument 0) resolves against the software root when it is a
 * relative path with a '/'; any other literal argument does when it names an
 * existing file under the software root, since the payload runs elsewhere.
 */
function resolveLiteral(arg: string, index: number, softwareRoot: string): string {
  if (arg === "" || isAbsolute(arg) || arg.startsWith("-")) return arg;
  const candidate = resolve(softwareRoot, arg);
  const rel = relative(softwareRoot, candidate);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return arg;
  if (index === 0) return arg.includes("/") ? candidate : arg;
  return existsSync(candidate) && statSync(candidate).isFile() ? candidate : arg;
}
