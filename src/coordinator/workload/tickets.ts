// Tickets for failed work (DKIST's, PanDA's): a quantum whose retry budget is
// spent opens one, keeping what the operator needs to judge it (outcome, exit
// code, message, the end of stderr). It is stored in the same transaction as
// the progress that failed the quantum (the journal), and closes when the
// quantum succeeds after `orrery retry`, or is cancelled.
import type { LiveCampaign } from "./campaign-table.js";
import type { TicketRecord } from "./model.js";
import type { QuantumState } from "./quantum-state.js";

/** Lines of stderr a ticket keeps. */
export const STDERR_TAIL_LINES = 20;
/** And at most this many characters of them (a payload may write one huge line). */
const STDERR_TAIL_CHARS = 4000;

/** What the journal is told of a ticket: stored with the changes that made it, announced once stored. */
export interface TicketSink {
  ticketOpened(ticket: TicketRecord): void;
  ticketClosed(ticket: TicketRecord): void;
}

/** The failed attempt, as finishAttempt has it. */
export interface FailedAttempt {
  attempt: number;
  outcome: string;
  exitCode: number;
  message: string;
  stderr: string;
  reason: string;
}

/** The last `lines` lines of a text, at most STDERR_TAIL_CHARS characters of them. */
export function tailLines(text: string, lines = STDERR_TAIL_LINES): string {
  const trimmed = text.replace(/\n+$/, "");
  const tail = trimmed.split("\n").slice(-lines).join("\n");
  return tail.length > STDERR_TAIL_CHARS ? tail.slice(-STDERR_TAIL_CHARS) : tail;
}

/**
 * The quantum of `row` FAILED: opens its ticket, or (a retried quantum that
 * failed again) brings its open ticket up to this attempt.
 */
export function openTicket(sink: TicketSink, c: LiveCampaign, row: number, failed: FailedAttempt, nowMs: number): TicketRecord {
  const quantum = c.rows.id(row);
  const earlier = c.tickets.get(quantum);
  const ticket: TicketRecord = {
    quantum,
    campaign: c.name,
    generation: c.generation,
    task: c.rows.task(row),
    state: "open",
    outcome: failed.outcome,
    exitCode: failed.exitCode,
    message: failed.message,
    stderrTail: tailLines(failed.stderr),
    attempt: failed.attempt,
    reason: failed.reason,
    openedMs: earlier?.state === "open" ? earlier.openedMs : nowMs,
    closedMs: 0,
  };
  c.tickets.set(quantum, ticket);
  sink.ticketOpened(ticket);
  return ticket;
}

/** Closes the quantum's open ticket, if it has one (it succeeded, or was cancelled). */
export function closeTicket(sink: TicketSink, c: LiveCampaign, row: number, nowMs: number): TicketRecord | undefined {
  const open = c.tickets.get(c.rows.id(row));
  if (open?.state !== "open") return undefined;
  const closed: TicketRecord = { ...open, state: "closed", closedMs: nowMs };
  c.tickets.set(closed.quantum, closed);
  sink.ticketClosed(closed);
  return closed;
}

export interface TicketFilter {
  campaign?: string;
  open?: boolean;
}

/** A ticket as listed: with the state its quantum is in now (READY after a retry, SUCCEEDED once closed). */
export interface TicketView extends TicketRecord {
  quantumState: QuantumState | "UNKNOWN";
}

/** Tickets of the campaigns given, oldest first; only open ones with `open`. */
export function listTickets(campaigns: Iterable<LiveCampaign>, filter: TicketFilter): TicketView[] {
  const out: TicketView[] = [];
  for (const c of campaigns) {
    if (filter.campaign !== undefined && c.name !== filter.campaign) continue;
    for (const t of c.tickets.values()) {
      if (filter.open === true && t.state !== "open") continue;
      const row = c.rows.rowOf(t.quantum);
      out.push({ ...t, quantumState: row === undefined ? "UNKNOWN" : c.rows.state(row) });
    }
  }
  return out.sort((a, b) => a.openedMs - b.openedMs || a.quantum.localeCompare(b.quantum));
}
