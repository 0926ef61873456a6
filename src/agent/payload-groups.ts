// Running payloads' process groups in the journal: recorded when a payload
// starts, removed when it ends, so that an agent restarted after a crash
// (SIGKILL, OOM killer, node reboot excepted) kills what its predecessor left
// running before it takes work: an orphan shares the node with new payloads
// and its attempt is over (reported `lost`) anyway.
import type { Logger } from "../common/logger.js";
import type { Journal } from "./cache/index.js";
import { killOrphanGroup, processGroupId } from "./exec/index.js";

export class PayloadGroups {
  constructor(
    private readonly journal: Journal,
    private readonly log: Logger,
  ) {}

  /** Records a payload's group; a failure is logged and only costs the orphan kill after a crash. */
  async started(leaseId: string, pgid: number): Promise<void> {
    try {
      const id = await processGroupId(pgid);
      if (id !== undefined) await this.journal.payloadStarted({ leaseId, ...id });
    } catch (err) {
      this.log.error({ lease: leaseId, err }, "could not journal the payload's process group");
    }
  }

  async ended(leaseId: string): Promise<void> {
    await this.journal.payloadEnded(leaseId).catch((err: unknown) => this.log.error({ lease: leaseId, err }, "journal write failed"));
  }

  /** Kills (SIGKILL to the group, waiting until it is gone) every payload a previous run left recorded. */
  async killOrphans(): Promise<void> {
    for (const group of this.journal.payloadGroups()) {
      const res = await killOrphanGroup(group);
      const fields = { lease: group.leaseId, pgid: group.pgid };
      if (res.kind === "killed") this.log.warn({ ...fields, pids: res.pids }, "killed a payload left running by a previous run of this agent");
      else if (res.kind === "survived") this.log.error({ ...fields, pids: res.pids }, "a payload left by a previous run survived SIGKILL");
      else this.log.info({ ...fields, found: res.kind }, "a payload left by a previous run is already gone");
      await this.journal.payloadEnded(group.leaseId);
    }
  }
}
