// `orrery dbb download DID --to DIR`: every file of a FILE, DATASET or
// CONTAINER DID into DIR/<scope>/<name>, streamed from an AVAILABLE replica
// and verified (size, adler32, md5). As Rucio's download, a replica whose
// bytes do not match is declared BAD and the next replica is tried; a file
// already there with the right checksums is not fetched again.
import { constants } from "node:fs";
import { access, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import type { Replica, Rse } from "../gen/orrery/v1/dbb_pb.js";
import { checksumFile } from "../common/checksum.js";
import type { DbbClient } from "../common/dbb-client.js";
import { parseDid } from "../common/did.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { checksumProblem, describeError, fetchObject } from "../common/replica-fetch.js";
import { objectKey } from "../common/s3.js";
import { withDbbClient, type DbbCommandOptions } from "./dbb-connection.js";
import { CommandFailed, ExitCode, printJson, printLine, printNotice } from "./output.js";
import { formatBytes } from "./status-view.js";

/** Files fetched at once. */
const PARALLEL_FILES = 4;
/** Progress shows only for a download still running after this long. */
const PROGRESS_AFTER_MS = 1000;

interface PlannedFile {
  did: string;
  scope: string;
  name: string;
  target: string;
  bytes: number;
  replicas: Replica[];
}

type Outcome = { ok: true; bytes: number } | { ok: false; problems: string[] };

export function registerDownloadCommand(dbb: Command): void {
  dbb
    .command("download <did>")
    .description("fetch every file of a DID into DIR/<scope>/<name>, verifying size, adler32 and md5 (a replica that does not match is declared BAD and another tried)")
    .requiredOption("--to <dir>", "existing, writable directory to write into")
    .action(async (did: string, o: { to: string }, cmd: Command) => {
      parseDid(did);
      const root = await writableDirectory(o.to);
      const json = cmd.optsWithGlobals<DbbCommandOptions>().json === true;
      const { files, bytes, failures } = await withDbbClient(cmd, async (client) => {
        const [replicas, rses] = await Promise.all([client.replicas(did), client.rseList()]);
        if (replicas.length === 0) printNotice(`${did} has no replicas: nothing to download`);
        return download(client, plan(root, replicas), new Map(rses.map((r) => [r.name, r])));
      });
      if (json) printJson({ files, bytes });
      else printLine(`downloaded ${files} file${files === 1 ? "" : "s"} (${formatBytes(bytes)}) to ${root}`);
      if (failures.length > 0) {
        for (const f of failures) printNotice(`orrery: could not fetch ${f.did} intact: ${f.problems.join("; ")}`);
        printNotice(`  fix: check the replicas with: orrery dbb replicas ${did}`);
        throw new CommandFailed(ExitCode.FAILED);
      }
    });
}

/** `--to` as an absolute path, or INVALID_ARGUMENT (exit 2) when it is not a writable directory. */
async function writableDirectory(dir: string): Promise<string> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--to ${dir} is not a directory`, { hint: `create it first (mkdir -p ${dir}) or give another --to` });
  }
  try {
    await access(root, constants.W_OK | constants.X_OK);
  } catch {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--to ${dir} is not writable`, { hint: "give a directory you may write to" });
  }
  return root;
}

/** One entry per file, with its AVAILABLE replicas; refuses (exit 2) a name that would be written outside `root`. */
function plan(root: string, replicas: readonly Replica[]): PlannedFile[] {
  const files = new Map<string, PlannedFile>();
  for (const r of replicas) {
    let file = files.get(r.did);
    if (file === undefined) {
      const { scope, name } = parseDid(r.did);
      file = { did: r.did, scope, name, target: targetPath(root, scope, name), bytes: Number(r.bytes), replicas: [] };
      files.set(r.did, file);
    }
    if (r.state === "AVAILABLE") file.replicas.push(r);
  }
  return [...files.values()];
}

function targetPath(root: string, scope: string, name: string): string {
  const target = resolve(root, scope, name);
  const rel = relative(root, target);
  // A '..' segment is refused even where it would stay inside: the name says something else than where it lands.
  if ([scope, ...name.split("/")].some((part) => part === ".." || part === ".") || rel === "" || isAbsolute(rel) || rel.split(sep)[0] === "..") {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${scope}:${name} would be written outside --to (its name has '.' or '..' parts)`, {
      hint: "download its files one by one, or rename the file in the catalog",
    });
  }
  return target;
}

async function download(client: DbbClient, files: readonly PlannedFile[], rses: ReadonlyMap<string, Rse>) {
  const progress = startProgress(files.length, files.reduce((sum, f) => sum + f.bytes, 0));
  const failures: { did: string; problems: string[] }[] = [];
  let fetched = 0;
  let bytes = 0;
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const outcome = await fetchFile(client, file, rses, progress.add);
      if (outcome.ok) {
        fetched++;
        bytes += outcome.bytes;
      } else failures.push({ did: file.did, problems: outcome.problems });
      progress.fileDone();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_FILES, files.length) }, worker));
  } finally {
    progress.end();
  }
  return { files: fetched, bytes, failures: failures.sort((a, b) => (a.did < b.did ? -1 : 1)) };
}

async function fetchFile(client: DbbClient, file: PlannedFile, rses: ReadonlyMap<string, Rse>, onBytes: (n: number) => void): Promise<Outcome> {
  const first = file.replicas[0];
  if (first === undefined) return { ok: false, problems: ["no AVAILABLE replica"] };
  if (await alreadyThere(file.target, first)) return { ok: true, bytes: file.bytes };
  const problems: string[] = [];
  const part = `${file.target}.orrery-part`;
  try {
    await mkdir(dirname(file.target), { recursive: true });
    for (const replica of file.replicas) {
      const rse = rses.get(replica.rse);
      if (rse === undefined) {
        problems.push(`${replica.rse}: not an RSE the data backbone lists`);
        continue;
      }
      const key = replica.path !== "" ? replica.path : objectKey(rse, file.scope, file.name);
      let problem: string | undefined;
      try {
        problem = checksumProblem(await fetchObject({ endpoint: rse.endpoint, bucket: rse.bucket, key }, part, { onBytes }), replica);
      } catch (err) {
        problems.push(`${replica.rse}: download of s3://${rse.bucket}/${key} failed: ${describeError(err)}`);
        continue;
      }
      if (problem === undefined) {
        await rename(part, file.target);
        return { ok: true, bytes: file.bytes };
      }
      problems.push(`${replica.rse}: ${problem}`);
      await declareBad(client, file.did, replica.rse, problem);
    }
  } catch (err) {
    problems.push(describeError(err));
  } finally {
    await rm(part, { force: true });
  }
  return { ok: false, problems };
}

/** Rucio's download skips a file already present with the catalog's checksums. */
async function alreadyThere(target: string, want: Replica): Promise<boolean> {
  const info = await stat(target).catch(() => undefined);
  if (!info?.isFile() || info.size !== Number(want.bytes)) return false;
  return checksumProblem(await checksumFile(target), want) === undefined;
}

async function declareBad(client: DbbClient, did: string, rse: string, problem: string): Promise<void> {
  try {
    const state = await client.declareBad(did, rse, problem);
    printNotice(`orrery: ${did} at ${rse}: ${problem}; the replica is now ${state}, trying another`);
  } catch (err) {
    printNotice(`orrery: ${did} at ${rse}: ${problem}; could not declare it BAD (${describeError(err)})`);
  }
}

/** `download: 3/10 files, 1.2 MB of 4.0 MB` on stderr for downloads that take a while: redrawn on a terminal, every few seconds otherwise. */
function startProgress(totalFiles: number, totalBytes: number) {
  const tty = process.stderr.isTTY === true;
  let files = 0;
  let bytes = 0;
  let drawn = false;
  const line = () => `download: ${files}/${totalFiles} files, ${formatBytes(bytes)} of ${formatBytes(totalBytes)}`;
  const draw = () => {
    if (tty) process.stderr.write(`\r${line()}\x1b[K`);
    else printNotice(line());
    drawn = true;
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(() => {
    draw();
    timer = setInterval(draw, tty ? 200 : 2000).unref();
  }, PROGRESS_AFTER_MS).unref();
  return {
    add(n: number) {
      bytes += n;
    },
    fileDone() {
      files++;
    },
    end() {
      clearTimeout(timer);
      clearInterval(timer);
      if (drawn) {
        if (tty) process.stderr.write(`\r${line()}\x1b[K\n`);
        else printNotice(line());
      }
    },
  };
}
