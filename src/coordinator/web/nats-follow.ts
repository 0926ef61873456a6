// Follows `orrery.events.>` on NATS directly: the dashboard's event source
// until the coordinator's EventFeed (src/coordinator/events/) replaces it.
import type { NatsConnection } from "../../common/nats.js";
import { parseEvent, type FollowEvents } from "./event-stream.js";

export function natsFollow(nc: NatsConnection): FollowEvents {
  return (campaign, cb) => {
    const sub = nc.subscribe("orrery.events.>", {
      callback: (err, msg) => {
        if (err) return;
        const event = parseEvent(msg.string());
        if (event && (campaign === undefined || event.campaign === campaign)) cb(event);
      },
    });
    return () => sub.unsubscribe();
  };
}
