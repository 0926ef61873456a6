// `orrery dbb …`: run the data backbone process (no subcommand), manage RSEs,
// ingest files and show replicas.
import { Option, type Command } from "commander";
import { parseManifestIsolated } from "./file-parser.js";
import { runDbb, ingest, entriesFromFiles, entriesFromManifest, parseRseExpression, resolveRseExpression, type IngestProgress } from "../dbb/index.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { signalReady } from "../common/ready.js";
import { DBB_DEFAULTS, DBB_SETTINGS, addSettingOptions, resolveSettings } from "../common/settings/index.js";
import type { DataId } from "../common/data-id.js";
import type { Rse } from "../gen/orrery/v1/dbb_pb.js";
import { storageTiers } from "../common/wire-enums.js";
import { withDbbClient, type DbbCommandOptions } from "./dbb-connection.js";
import { registerRuleCommands } from "./dbb-rules.js";
import { registerDbbCollections } from "./dbb-collections.js";
import { registerDownloadCommand } from "./dbb-download.js";
import { registerPolicyCommands } from "./dbb-policies.js";
import { printJson, printLine, printNotice, printTable } from "./output.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `k=v` pairs (repeated, or comma-separated) into a map; `flag` names the option in errors. */
export function parsePairs(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values.flatMap((v) => v.split(","))) {
    const i = pair.indexOf("=");
    if (i <= 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} "${pair}" is not key=value`, { hint: `write ${flag} key=value, e.g. ${flag} instrument=HSC` });
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

export function parseDataIdPairs(values: readonly string[]): DataId {
  const out: DataId = {};
  for (const [k, v] of Object.entries(parsePairs(values, "--data-id"))) out[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  return out;
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

function rseJson(r: Rse) {
  return { name: r.name, site: r.site, endpoint: r.endpoint, bucket: r.bucket, prefix: r.prefix, tier: storageTiers.name(r.tier) ?? "unknown", attributes: r.attributes, quotaBytes: Number(r.quotaBytes), output: r.output };
}

async function runDbbProcess(flags: Record<string, unknown> & { config?: string }): Promise<void> {
  const s = resolveSettings("dbb", DBB_SETTINGS, DBB_DEFAULTS, { flags, configFile: flags.config });
  if (s.nats === undefined) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "no NATS server given", { hint: "give --nats nats://host:port, set $ORRERY_NATS or write nats: in --config FILE" });
  if (s.redis === undefined) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "no Redis server given", { hint: "give --redis redis://host:port, set $ORRERY_REDIS or write redis: in --config FILE" });
  const dbb = await runDbb({
    natsUrl: s.nats,
    redisUrl: s.redis,
    transfersOnly: s.transfersOnly,
    transferWorkers: s.transferWorkers,
    transferTries: s.transferTries,
    transferBackoffMs: s.retryDelay,
    repairDelayMs: s.repairDelay,
    judgeIntervalMs: Math.max(50, s.judgeInterval),
    reaperIntervalMs: Math.max(50, s.reaperInterval),
    ...(s.metrics !== undefined ? { metricsListen: s.metrics } : {}),
  });
  const stop = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  signalReady({ role: "dbb" });
  // A dbb whose replica consumer died would answer requests while cataloguing nothing: it exits instead.
  const failure = await Promise.race([stop.then(() => undefined), dbb.failed]);
  await dbb.close();
  if (failure) {
    process.stderr.write(`orrery dbb: ${failure.message}\n`);
    process.exit(1);
  }
  process.exit(0);
}

export function registerDbbCommands(program: Command): void {
  const dbb = program.command("dbb").description("run the data backbone (without a subcommand), or manage its catalog");
  addSettingOptions(dbb, DBB_SETTINGS, DBB_DEFAULTS).action((flags: Record<string, unknown> & { config?: string }) => runDbbProcess(flags));

  const rse = dbb.command("rse").description("storage elements (RSEs)");
  rse
    .command("add <name>")
    .description("add (or replace) an RSE")
    .requiredOption("--site <site>", "site the RSE belongs to")
    .requiredOption("--endpoint <url>", "S3 endpoint, http(s)://host:port")
    .requiredOption("--bucket <bucket>", "S3 bucket")
    .option("--tier <tier>", "custodial | disk | scratch", "disk")
    .option("--attr <key=value>", "attribute (repeatable)", collect, [])
    .option("--quota <bytes>", "quota in bytes (0: none)", "0")
    .option("--prefix <prefix>", "key prefix within the bucket", "")
    .option("--output", "the site's output RSE")
    .action(async (name: string, o: { site: string; endpoint: string; bucket: string; tier: string; attr: string[]; quota: string; prefix: string; output?: boolean }, cmd: Command) => {
      if (!/^\d+$/.test(o.quota)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--quota "${o.quota}" is not a number of bytes`, { hint: "give --quota as a whole number of bytes, 0 for none" });
      const attributes = parsePairs(o.attr, "--attr");
      const tier = storageTiers.value(o.tier);
      if (tier === undefined) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--tier "${o.tier}" is not a tier`, { hint: `use one of ${storageTiers.names.join(", ")}` });
      const added = await withDbbClient(cmd, (c) =>
        c.rseAdd({ name, site: o.site, endpoint: o.endpoint, bucket: o.bucket, tier, attributes, quotaBytes: BigInt(o.quota), prefix: o.prefix, output: o.output === true }),
      );
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) printJson(rseJson(added));
      else printLine(`RSE ${added.name} added: site ${added.site}, tier ${storageTiers.name(added.tier) ?? "unknown"}${added.output ? ", output RSE" : ""}, ${added.endpoint}/${added.bucket}`);
    });
  rse
    .command("list")
    .description("list RSEs")
    .option("--site <site>", "only this site's RSEs")
    .option("--expr <expression>", 'only those an RSE expression selects (Rucio\'s: NAME, key=value, key<n, key>n, *, |, &, \\, parentheses), e.g. "tier=custodial"')
    .action(async (o: { site?: string; expr?: string }, cmd: Command) => {
      // A malformed expression is refused before the catalog is asked.
      if (o.expr !== undefined) parseRseExpression(o.expr);
      const listed = await withDbbClient(cmd, (c) => c.rseList(o.site));
      const rses = o.expr === undefined ? listed : resolveRseExpression(o.expr, listed);
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(rses.map(rseJson));
      printTable(rses, [
        { header: "NAME", value: (r) => r.name },
        { header: "SITE", value: (r) => r.site },
        { header: "TIER", value: (r) => storageTiers.name(r.tier) ?? "unknown" },
        { header: "OUTPUT", value: (r) => (r.output ? "yes" : "") },
        { header: "ENDPOINT", value: (r) => `${r.endpoint}/${r.bucket}${r.prefix ? `/${r.prefix}` : ""}` },
        { header: "QUOTA", value: (r) => (r.quotaBytes > 0n ? formatBytes(Number(r.quotaBytes)) : "-"), align: "right" },
        { header: "ATTRIBUTES", value: (r) => Object.entries(r.attributes).map(([k, v]) => `${k}=${v}`).join(",") },
      ]);
    });

  registerRuleCommands(dbb);
  registerDownloadCommand(dbb);
  registerPolicyCommands(dbb);

  dbb
    .command("ingest [files...]")
    .description("upload files to an RSE and register them (from a JSONL manifest, or files of one dataset type)")
    .requiredOption("--rse <rse>", "RSE to upload to")
    .option("--manifest <file>", "JSONL manifest: one {path, scope, datasetType, dataId, metadata?, validFrom?, validTo?} per line")
    .option("--scope <scope>", "scope of the files (without --manifest)")
    .option("--dataset-type <type>", "dataset type of the files (without --manifest)")
    .option("--data-id <key=value>", "data id entry (repeatable, without --manifest)", collect, [])
    .option("--dataset <did>", "also attach the files to this DATASET (scope:name), made if absent")
    .addOption(new Option("--collection <did>", "the former name of --dataset").hideHelp())
    .action(async (files: string[], o: { rse: string; manifest?: string; scope?: string; datasetType?: string; dataId: string[]; dataset?: string; collection?: string }, cmd: Command) => {
      const dataset = o.dataset ?? o.collection;
      const entries = await ingestEntries(files, o);
      const json = cmd.optsWithGlobals<DbbCommandOptions>().json === true;
      const progress = progressLine();
      const result = await withDbbClient(cmd, (client) =>
        ingest({ client, rse: o.rse, entries, onProgress: progress.update, ...(dataset ? { dataset } : {}) }),
      ).finally(progress.end);
      if (json) printJson(result);
      else printLine(`ingested ${result.ingested} files (${formatBytes(result.bytes)}) into ${o.rse}`);
    });

  dbb
    .command("replicas <did>")
    .description("where a file, or every file at or below a dataset or container, is stored")
    .action(async (did: string, _o: unknown, cmd: Command) => {
      const replicas = await withDbbClient(cmd, (c) => c.replicas(did));
      // producedBy: the quantum that wrote the file (null for ingested files).
      const rows = replicas.map((r) => ({ did: r.did, rse: r.rse, state: r.state, bytes: Number(r.bytes), adler32: r.adler32, md5: r.md5, producedBy: r.producedBy || null }));
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(rows);
      if (rows.length === 0) return printNotice(`${did} has no replicas`);
      printTable(rows, [
        { header: "DID", value: (r) => r.did },
        { header: "RSE", value: (r) => r.rse },
        { header: "STATE", value: (r) => r.state },
        { header: "BYTES", value: (r) => r.bytes, align: "right" },
        { header: "ADLER32", value: (r) => r.adler32 },
        { header: "MD5", value: (r) => r.md5 },
        { header: "PRODUCED BY", value: (r) => r.producedBy ?? "" },
      ]);
    });

  registerDbbCollections(dbb);
}

async function ingestEntries(files: string[], o: { manifest?: string; scope?: string; datasetType?: string; dataId: string[] }) {
  if (o.manifest !== undefined) {
    if (files.length > 0 || o.scope || o.datasetType || o.dataId.length > 0) {
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "--manifest cannot be combined with files, --scope, --dataset-type or --data-id", {
        hint: "put scope, dataset type and data id in the manifest, or give files without --manifest",
      });
    }
    return entriesFromManifest(o.manifest, o.manifest, parseManifestIsolated);
  }
  if (files.length === 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "nothing to ingest", { hint: "give --manifest FILE.jsonl, or FILE… with --scope, --dataset-type and --data-id" });
  for (const [flag, value] of [["--scope", o.scope], ["--dataset-type", o.datasetType]] as const) {
    if (!value) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} is missing`, { hint: `give ${flag} when ingesting files without a manifest` });
  }
  if (o.dataId.length === 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "--data-id is missing", { hint: "give the files' data id, e.g. --data-id instrument=HSC --data-id detector=16" });
  return entriesFromFiles({ files, scope: o.scope!, datasetType: o.datasetType!, dataId: parseDataIdPairs(o.dataId) });
}

/** `ingest: 12/40 files, 3.2 MB` on stderr: redrawn in place on a terminal, every few seconds otherwise. */
function progressLine(): { update: (p: IngestProgress) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = "";
  let lastPrinted = 0;
  let drawn = false;
  return {
    update(p) {
      last = `ingest: ${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)}`;
      if (tty) {
        process.stderr.write(`\r${last}\x1b[K`);
        drawn = true;
      } else if (Date.now() - lastPrinted >= 2000 || p.files === p.totalFiles) {
        lastPrinted = Date.now();
        printNotice(last);
      }
    },
    end() {
      if (tty && drawn) process.stderr.write("\n");
    },
  };
}
