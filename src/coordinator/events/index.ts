// The events folder's door: the feed of `orrery.events.>` that `orrery events`
// and the dashboard follow, and the FollowEvents stream over it.
export { EventFeed, parseEvent, DEFAULT_MAX_QUEUED, type EventCallback, type EventSource, type FollowOptions } from "./event-feed.js";
export { followEventsHandler, followedCampaign } from "./follow-events.js";
export { natsEventSink } from "./nats-sink.js";
export type { CampaignStateEvent, OrreryEvent, QuantumStateEvent, ReplicaStateEvent, TicketEvent } from "../../common/orrery-events.js";
