import { ErrorCode, OrreryError } from "./errors.js";

export interface Did {
  scope: string;
  name: string;
}

export function parseDid(text: string): Did {
  const i = text.indexOf(":");
  if (i <= 0 || i === text.length - 1) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `"${text}" is not a DID`, { hint: "write it as scope:name" });
  }
  return { scope: text.slice(0, i), name: text.slice(i + 1) };
}

export function formatDid(did: Did): string {
  return `${did.scope}:${did.name}`;
}
