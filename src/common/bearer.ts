// Bearer tokens as gRPC calls and HTTP requests carry them
// (`authorization: Bearer TOKEN`), compared by their SHA-256 digests in
// constant time, so neither a token's length nor its text leaks through timing.
import { createHash, timingSafeEqual } from "node:crypto";

/** The token of an `authorization` value, or undefined when it is not `Bearer TOKEN`. */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1];
}

export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** Whether `token` is the one whose digest is `expected`. */
export function tokenMatches(token: string, expected: Buffer): boolean {
  return timingSafeEqual(tokenDigest(token), expected);
}
