// The operator's side of failures, served by the manager's mailbox: tickets
// listed from memory (stored with the progress that opened or closed them),
// and `orrery retry`, answered once its changes are stored.
import type { Mailbox } from "../../common/mailbox.js";
import type { Logger } from "../../common/logger.js";
import type { CampaignTable } from "./campaign-table.js";
import type { ProgressJournal } from "./progress-journal.js";
import { liveCampaign } from "./campaign-control.js";
import { listTickets, type TicketFilter, type TicketView } from "./tickets.js";
import { retryCampaign, type RetryResult } from "./retry.js";

export interface TicketDeskContext {
  table: CampaignTable;
  journal: ProgressJournal;
  log: Logger;
  send: Mailbox["send"];
  /** Flushes the journal (the manager's, which also sees a store outage end). */
  persist: () => Promise<void>;
  /** Quanta became READY. */
  onWork: () => void;
}

export class TicketDesk {
  constructor(private readonly ctx: TicketDeskContext) {}

  /** Tickets, oldest first: of one campaign (NOT_FOUND when there is none) or all; only open ones with `open`. */
  list(filter: TicketFilter): Promise<TicketView[]> {
    return this.ctx.send(async () => {
      if (filter.campaign !== undefined) liveCampaign(this.ctx.table, filter.campaign);
      return listTickets(this.ctx.table.campaigns.values(), filter);
    });
  }

  /** Requeues a campaign's FAILED quanta (or one) and their BLOCKED downstream (retry.ts); answers once stored. */
  retry(campaign: string, quantum?: string): Promise<RetryResult> {
    return this.ctx.send(async () => {
      const result = retryCampaign(this.ctx, campaign, quantum);
      await this.ctx.persist();
      if (result.requeued > 0) this.ctx.onWork();
      return result;
    });
  }
}
