// The CampaignService's ListTickets and Retry: tickets of FAILED quanta, and
// the operator's retry. Every request field is checked here, at the edge.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { attemptOutcomes, campaignStates, quantumStates } from "../../common/wire-enums.js";
import { AttemptOutcome, CampaignState, QuantumState } from "../../gen/orrery/v1/common_pb.js";
import { TicketState, type ListTicketsRequest, type RetryRequest } from "../../gen/orrery/v1/coordinator_pb.js";
import type { QuantaStore, TicketView, WorkloadManager } from "../workload/index.js";

/** Longest campaign name or quantum id a request may carry (ids are `<campaign>.<task>.<seq>`). */
const MAX_NAME = 512;

function checkName(field: string, value: string, required: boolean): void {
  if (required && value === "") throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${field}: required`, { hint: `give the ${field}'s name` });
  if (value.length > MAX_NAME) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${field}: longer than ${MAX_NAME} characters`, { hint: `give an existing ${field}'s name` });
  if (/[\s\p{Cc}]/u.test(value)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${field}: ${JSON.stringify(value)} has whitespace or control characters`, { hint: `give an existing ${field}'s name` });
}

export function toWireTicket(t: TicketView) {
  return {
    quantum: t.quantum,
    campaign: t.campaign,
    task: t.task,
    state: t.state === "open" ? TicketState.OPEN : TicketState.CLOSED,
    outcome: attemptOutcomes.value(t.outcome) ?? AttemptOutcome.UNSPECIFIED,
    exitCode: t.exitCode,
    message: t.message,
    stderrTail: t.stderrTail,
    attempt: t.attempt,
    reason: t.reason,
    openedMs: BigInt(t.openedMs),
    closedMs: BigInt(t.closedMs),
    quantumState: quantumStates.value(t.quantumState) ?? QuantumState.UNSPECIFIED,
  };
}

export function ticketApi(deps: { manager: WorkloadManager; store: QuantaStore }) {
  const { manager, store } = deps;
  return {
    async listTickets(req: ListTicketsRequest) {
      checkName("campaign", req.campaign, false);
      const tickets = await manager.tickets.list({ ...(req.campaign !== "" ? { campaign: req.campaign } : {}), open: req.openOnly });
      return { tickets: tickets.map(toWireTicket) };
    },
    async retry(req: RetryRequest) {
      checkName("campaign", req.campaign, true);
      checkName("quantum", req.quantum, false);
      if (req.quantum !== "" && !req.quantum.startsWith(`${req.campaign}.`)) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `quantum: ${req.quantum} is not a quantum of campaign ${req.campaign} (ids are ${req.campaign}.TASK.N)`, {
          hint: `list its failed quanta with \`orrery tickets --open --campaign ${req.campaign}\``,
        });
      }
      // Refused at once while Redis is down: a change that could not be stored now would be stored later, unannounced.
      await store.ping();
      const r = await manager.tickets.retry(req.campaign, req.quantum === "" ? undefined : req.quantum);
      return { campaign: r.campaign, requeued: r.requeued, unblocked: r.unblocked, state: campaignStates.value(r.state) ?? CampaignState.UNSPECIFIED };
    },
  };
}
