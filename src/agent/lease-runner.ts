// One lease from start to result: stage-in, quantum.json, the payload run,
// stage-out and registration, provenance. Aborting its signal with a
// StopRequest ends it early: cancelled → no result, preempted → `preempted`.
import { create } from "@bufbuild/protobuf";
import { isNoopCommand } from "../common/builtin-commands.js";
import { parseDataId } from "../common/data-id.js";
import type { Logger } from "../common/logger.js";
import { QuantumResultSchema, type Lease, type QuantumResult } from "../gen/orrery/v1/agent_link_pb.js";
import type { FileCache } from "./cache/index.js";
import {
  byRole,
  createScratch,
  expandCommand,
  inputPaths,
  outputPaths,
  parseConfig,
  removeScratch,
  runPayload,
  tailOf,
  writeQuantumFile,
  type PayloadRun,
} from "./exec/index.js";
import { isStopRequest, judgeRun, Outcome, outcomeOfError, wireOutcome, type LeasePhase } from "./lease-outcome.js";
import { filterEnvironment, payloadEnvironment, readMetrics, type ProvenanceRecord } from "./provenance.js";
import { registerOutputs, stageInFile, uploadOutputs, uploadProvenance, type DbbLookup, type StagedInput, type StagedOutput } from "./stage/index.js";

export interface LeaseRunContext {
  agentId: string;
  site: string;
  kind: string;
  host: string;
  workDir: string;
  softwareRoot: string;
  cache: FileCache;
  dbb: DbbLookup;
  log: Logger;
  /** Where running payloads' process groups are recorded (the journal), so a successor can kill orphans. */
  payloadGroups: { started(leaseId: string, pgid: number): Promise<void>; ended(leaseId: string): Promise<void> };
  /** The disk watch of running payloads: the node's free-space floor and the sampling interval. */
  disk: { minFreeMb: number; sampleMs: number };
}

const MiB = 1024 * 1024;

/** Runs a lease; resolves to its result, or undefined when it was cancelled. */
export async function runLease(lease: Lease, ctx: LeaseRunContext, signal: AbortSignal): Promise<QuantumResult | undefined> {
  if (isNoopCommand(lease.command)) return noopResult(lease, ctx);
  const log = ctx.log.child({ lease: lease.leaseId, quantum: lease.quantumId, attempt: lease.attempt });
  const startMs = Date.now();
  const scratch = await createScratch(ctx.workDir, lease.leaseId);
  const releases: (() => void)[] = [];
  let phase: LeasePhase = "stage_in";
  let staged: StagedInput[] = [];
  let stagedOut: StagedOutput[] = [];
  let argv: string[] = [];
  let run: PayloadRun | undefined;
  let config: Record<string, unknown> = {};
  const env: NodeJS.ProcessEnv = { ...payloadEnvironment(process.env), ORRERY_QUANTUM: scratch.quantumPath };

  const finish = async (outcome: Outcome, message: string): Promise<QuantumResult> => {
    const endMs = Date.now();
    const [metrics, stdoutTail, stderrTail] = await Promise.all([run ? readMetrics(scratch.metricsPath) : null, tailOf(scratch.stdoutPath), tailOf(scratch.stderrPath)]);
    const provenance: ProvenanceRecord = {
      ...provenanceOf(lease, ctx, startMs, endMs),
      cpuSeconds: run?.cpuSeconds ?? 0,
      peakRssBytes: run?.peakRssBytes ?? 0,
      exitCode: run?.exitCode ?? null,
      signal: run?.signal ?? null,
      outcome,
      command: argv,
      config,
      environment: filterEnvironment(env),
      inputs: staged.map((s) => ({ did: s.ref.did, role: s.ref.role, bytes: Number(s.ref.bytes), adler32: s.ref.adler32, md5: s.ref.md5, source: s.source })),
      outputs: stagedOut.map((o) => ({ did: o.ref.did, role: o.ref.role, rse: o.rse, bytes: o.bytes, adler32: o.adler32, md5: o.md5 })),
      metrics,
    };
    return create(QuantumResultSchema, {
      leaseId: lease.leaseId,
      quantumId: lease.quantumId,
      attempt: lease.attempt,
      outcome: wireOutcome(outcome),
      exitCode: run?.exitCode ?? -1,
      message,
      startMs: BigInt(startMs),
      endMs: BigInt(endMs),
      outputs: stagedOut.map((o) => ({ role: o.ref.role, did: o.ref.did, rse: o.rse, bytes: BigInt(o.bytes), adler32: o.adler32, md5: o.md5 })),
      stdoutTail,
      stderrTail,
      provenanceJson: JSON.stringify(provenance),
      peakRssBytes: BigInt(run?.peakRssBytes ?? 0),
    });
  };

  const stopped = async (): Promise<QuantumResult | undefined> => {
    const reason: unknown = signal.reason;
    if (isStopRequest(reason) && reason.kind === "cancelled") {
      log.info({ reason: reason.message }, "lease cancelled");
      return undefined;
    }
    const why = isStopRequest(reason) ? reason.message : "the agent is stopping";
    stagedOut = []; // uploaded perhaps, but not registered: not outputs of this attempt
    return finish(Outcome.PREEMPTED, `preempted: ${why}`);
  };

  try {
    const inPaths = inputPaths(lease, scratch);
    const settled = await Promise.allSettled(
      lease.inputs.map((ref, i) =>
        stageInFile(ref, inPaths[i]!, { site: ctx.site, cache: ctx.cache, dbb: ctx.dbb, log, signal }).then((s) => {
          releases.push(s.release);
          return s;
        }),
      ),
    );
    if (signal.aborted) return await stopped();
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    staged = settled.map((s) => (s as PromiseFulfilledResult<StagedInput & { release: () => void }>).value);

    phase = "prepare";
    const outPaths = outputPaths(lease, scratch);
    const inputs = byRole(lease.inputs, inPaths);
    const outputs = byRole(lease.outputs, outPaths);
    const dataId = parseDataId(lease.dataId);
    config = parseConfig(lease.configJson);
    const doc = { quantum: lease.quantumId, campaign: lease.campaign, task: lease.task, attempt: lease.attempt, dataId, config, inputs, outputs };
    await writeQuantumFile(scratch.quantumPath, doc);
    argv = expandCommand(lease.command, { inputs, outputs, dataId, config, quantumPath: scratch.quantumPath }, ctx.softwareRoot);

    phase = "run";
    const res = lease.resources;
    const limits = { softS: res?.softTimeLimitS ?? 0, hardS: res?.timeLimitS ?? 0, memoryMb: res?.memoryMb ?? 0 };
    log.info({ argv }, "payload starting");
    try {
      run = await runPayload({
        argv,
        cwd: scratch.dir,
        env,
        stdoutPath: scratch.stdoutPath,
        stderrPath: scratch.stderrPath,
        softTimeLimitMs: limits.softS * 1000,
        hardTimeLimitMs: limits.hardS * 1000,
        memoryLimitBytes: limits.memoryMb * MiB,
        signal,
        disk: { dir: scratch.dir, limitBytes: (res?.diskMb ?? 0) * MiB, freeDir: ctx.workDir, minFreeBytes: ctx.disk.minFreeMb * MiB, intervalMs: ctx.disk.sampleMs },
        onGroup: (pgid) => ctx.payloadGroups.started(lease.leaseId, pgid),
      });
    } finally {
      // The group is gone (runPayload kills what is left of it): no successor needs to look for it.
      await ctx.payloadGroups.ended(lease.leaseId);
    }
    if (run.end === "aborted" || signal.aborted) return await stopped();
    const declared = lease.outputs.map((ref, i) => ({ role: ref.role, did: ref.did, path: outPaths[i]! }));
    const verdict = judgeRun(run, argv, limits, declared);
    log.info({ end: run.end, exitCode: run.exitCode, outcome: verdict.outcome }, "payload finished");
    if (verdict.outcome !== Outcome.SUCCEEDED) return await finish(verdict.outcome, verdict.message);

    // A task without outputs stores nothing at its site: its provenance goes to the coordinator with the result.
    if (lease.outputs.length === 0) return await finish(Outcome.SUCCEEDED, "");
    phase = "stage_out";
    const rse = await ctx.dbb.outputRse(ctx.site);
    stagedOut = await uploadOutputs(lease.outputs.map((ref, i) => ({ ref, path: outPaths[i]! })), rse, signal);
    const result = await finish(Outcome.SUCCEEDED, "");
    const scope = provenanceScope(lease);
    // Both must be done before the success is reported; neither needs the other.
    await Promise.all([
      uploadProvenance(rse, scope, lease.quantumId, lease.attempt, JSON.parse(result.provenanceJson)),
      registerOutputs(stagedOut, ctx.dbb, { site: ctx.site, quantumId: lease.quantumId, attempt: lease.attempt, collection: lease.outputCollection, container: lease.outputContainer }),
    ]);
    return result;
  } catch (err) {
    if (signal.aborted) return await stopped();
    const outcome = outcomeOfError(phase, err);
    const message = err instanceof Error ? err.message : String(err);
    log.warn({ phase, outcome, err: message }, "lease failed");
    if (outcome === Outcome.STAGE_OUT_ERROR) stagedOut = [];
    return await finish(outcome, message);
  } finally {
    for (const release of releases) release();
    await removeScratch(scratch).catch((err: unknown) => log.warn({ err }, "scratch not removed"));
  }
}

/** The built-in `orrery:noop`: nothing staged, nothing run, no scratch; success with a minimal provenance record. */
function noopResult(lease: Lease, ctx: LeaseRunContext): QuantumResult {
  const now = Date.now();
  const provenance: ProvenanceRecord = {
    ...provenanceOf(lease, ctx, now, now),
    cpuSeconds: 0,
    peakRssBytes: 0,
    exitCode: null,
    signal: null,
    outcome: Outcome.SUCCEEDED,
    command: [...lease.command],
    config: {},
    environment: {},
    inputs: [],
    outputs: [],
    metrics: null,
  };
  return create(QuantumResultSchema, {
    leaseId: lease.leaseId,
    quantumId: lease.quantumId,
    attempt: lease.attempt,
    outcome: wireOutcome(Outcome.SUCCEEDED),
    exitCode: 0,
    startMs: BigInt(now),
    endMs: BigInt(now),
    provenanceJson: JSON.stringify(provenance),
  });
}

/** What every provenance record says of the lease, the agent and the attempt's times. */
function provenanceOf(lease: Lease, ctx: LeaseRunContext, startMs: number, endMs: number) {
  return {
    quantum: lease.quantumId,
    campaign: lease.campaign,
    task: lease.task,
    attempt: lease.attempt,
    dataId: parseDataId(lease.dataId),
    host: ctx.host,
    agentId: ctx.agentId,
    site: ctx.site,
    kind: ctx.kind,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
  };
}

/** Provenance lives in the outputs' scope (else the output collection's, else "provenance"). */
function provenanceScope(lease: Lease): string {
  const did = lease.outputs[0]?.did ?? lease.outputCollection;
  const i = did.indexOf(":");
  return i > 0 ? did.slice(0, i) : "provenance";
}
