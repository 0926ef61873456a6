// The dispatch folder's door: the agent link (sessions and leases on the bidi stream).
export { AgentLink } from "./agent-link.js";
