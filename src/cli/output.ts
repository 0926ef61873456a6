// The one place the CLI writes to the terminal: JSON for scripts, tables and
// messages for people, errors as one line with the fix and an exit code.
import { ErrorCode, OrreryError } from "../common/errors.js";

export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Output into a closed pipe (`orrery status X | head -3`) is a quiet exit 0:
 * the reader took what it wanted, which is not an error, so there is no trace
 * and no message (and `set -o pipefail` scripts do not fail on `| head`).
 * Installed once by main(); an EPIPE on stderr is ignored the same way.
 */
export function exitQuietlyOnClosedPipe(): void {
  const onError = (stream: NodeJS.WriteStream) => (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") {
      if (stream === process.stdout) process.exit(ExitCode.OK);
      return;
    }
    throw err;
  };
  process.stdout.on("error", onError(process.stdout));
  process.stderr.on("error", onError(process.stderr));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`);
}

export function printLine(text = ""): void {
  process.stdout.write(`${text}\n`);
}

/** Text as it is (a payload's log), ending in a newline so the next line starts clean. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
}

/** Progress and notices go to stderr so stdout stays clean for pipes. */
export function printNotice(text: string): void {
  process.stderr.write(`${text}\n`);
}

export interface Column<R> {
  header: string;
  value: (row: R) => string | number;
  align?: "left" | "right";
}

export function printTable<R>(rows: readonly R[], columns: readonly Column<R>[]): void {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const fmt = (vals: string[]) =>
    vals
      .map((v, i) => (columns[i]!.align === "right" ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  printLine(fmt(columns.map((c) => c.header)));
  for (const row of cells) printLine(fmt(row));
}

export function exitCodeFor(err: OrreryError): ExitCode {
  switch (err.code) {
    case ErrorCode.SPEC_INVALID:
    case ErrorCode.PLAN_ERROR:
    case ErrorCode.INVALID_ARGUMENT:
    case ErrorCode.NOT_FOUND:
    case ErrorCode.ALREADY_EXISTS:
    // A campaign asked to do what its state does not allow (resume a CANCELLED one).
    case ErrorCode.ILLEGAL_TRANSITION:
    // A refused token or credentials (gRPC, NATS, S3), or a role that may not make the call: the caller's to fix.
    case ErrorCode.UNAUTHENTICATED:
    case ErrorCode.PERMISSION_DENIED:
      return ExitCode.USAGE;
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.MISSING_BINARY:
      return ExitCode.UNAVAILABLE;
    default:
      return ExitCode.FAILED;
  }
}

/** Prints an error as `orrery: message (fix)` — a stack only with --debug — and returns its exit code. */
export function reportError(err: unknown, debug: boolean): ExitCode {
  const e = OrreryError.from(err);
  const hint = e.hint ? `\n  fix: ${e.hint}` : "";
  process.stderr.write(`orrery: ${e.message}${hint}\n`);
  if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
  return exitCodeFor(e);
}

/** Thrown by a command that ran and did not succeed (exit 1) after printing its own report. */
export class CommandFailed extends Error {
  constructor(readonly exitCode: ExitCode = ExitCode.FAILED) {
    super("command failed");
  }
}
