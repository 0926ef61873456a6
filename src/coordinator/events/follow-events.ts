// CampaignService.FollowEvents: a server stream of the events the feed relays,
// every campaign's or one's. A client too slow to read them is ended
// (RESOURCE_EXHAUSTED), and every stream ends UNAVAILABLE when the coordinator stops.
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { EventMessageSchema, type EventMessage, type FollowEventsRequest } from "../../gen/orrery/v1/coordinator_pb.js";
import { ErrorCode, OrreryError, toGrpcError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { EventFeed } from "./event-feed.js";
import { CAMPAIGN_NAME } from "../campaign/index.js";

/** A campaign name as spec-schema.ts has it. */

/** The request's campaign, checked; undefined for every campaign. */
export function followedCampaign(req: Pick<FollowEventsRequest, "campaign">): string | undefined {
  if (req.campaign === "") return undefined;
  if (!CAMPAIGN_NAME.test(req.campaign)) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `campaign ${JSON.stringify(req.campaign.slice(0, 80))}: not a campaign name (1..63 of [a-z0-9-], starting and ending with a letter or digit)`, {
      hint: "give --campaign the name of a campaign as `orrery status` lists it, or leave it out to follow every campaign",
    });
  }
  return req.campaign;
}

export function followEventsHandler(feed: EventFeed, log: Logger): grpc.handleServerStreamingCall<FollowEventsRequest, EventMessage> {
  return (call) => {
    let campaign: string | undefined;
    try {
      campaign = followedCampaign(call.request);
    } catch (err) {
      call.emit("error", toGrpcError(err));
      return;
    }
    const stop = feed.follow(
      campaign,
      (_event, json) => {
        call.write(create(EventMessageSchema, { json }));
      },
      {
        ready: () => !call.writableNeedDrain,
        onEnd: (reason) => {
          if (reason === "slow") log.warn({ peer: call.getPeer(), campaign }, "an event follower fell too far behind; its stream is ended");
          const err =
            reason === "slow"
              ? new OrreryError(ErrorCode.UNAVAILABLE, "this follower fell too far behind the events; its stream was ended", { hint: "follow again, and read the stream as fast as it comes" })
              : new OrreryError(ErrorCode.UNAVAILABLE, "the coordinator is stopping", { hint: "follow again once it is back" });
          call.emit("error", { ...toGrpcError(err), ...(reason === "slow" ? { code: grpc.status.RESOURCE_EXHAUSTED } : {}) });
        },
      },
    );
    call.on("cancelled", stop);
    call.on("close", stop);
    call.on("error", stop);
  };
}
