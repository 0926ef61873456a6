// The agent's end of AgentLinkService.Connect: one bidi stream at a time,
// Hello first on every stream, reconnect with backoff when the stream breaks
// (a coordinator restart), and the coordinator's messages handed to the agent.
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "../common/logger.js";
import { grpcServiceDefinition } from "../common/grpc-service.js";
import { callMetadata, channelSecurity, type ClientSecurity } from "../common/grpc-security.js";
import {
  AgentLinkService,
  AgentMessageSchema,
  type CancelLease,
  type CoordinatorMessage,
  type Lease,
  type ResultAck,
  type Welcome,
} from "../gen/orrery/v1/agent_link_pb.js";

export type AgentMessageInit = MessageInitShape<typeof AgentMessageSchema>;

export interface LinkHandlers {
  /** The Hello to open each stream with (built fresh: cache figures change). */
  hello(): AgentMessageInit;
  welcome(welcome: Welcome): void;
  lease(lease: Lease): void;
  cancel(cancel: CancelLease): void;
  resultAck(ack: ResultAck): void;
  /** The stream broke; leases keep running, results wait in the journal. */
  disconnected(): void;
}

type Stream = grpc.ClientDuplexStream<unknown, CoordinatorMessage>;

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5000;
const SEND_TIMEOUT_MS = 5000;

export class CoordinatorLink {
  private readonly client: grpc.Client & { connect(metadata: grpc.Metadata): Stream };
  private readonly metadata: grpc.Metadata;
  private stream: Stream | undefined;
  private welcomed = false;
  private closing = false;
  private backoffMs = BACKOFF_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly address: string,
    private readonly handlers: LinkHandlers,
    private readonly log: Logger,
    /** TLS and the agent token of a closed coordinator. */
    security?: ClientSecurity,
  ) {
    this.metadata = callMetadata(security);
    const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(AgentLinkService), AgentLinkService.typeName);
    // Keepalive pings notice a coordinator whose host vanished without closing the socket.
    const channel = channelSecurity(security, address);
    this.client = new Ctor(address, channel.credentials, {
      ...channel.options,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.initial_reconnect_backoff_ms": BACKOFF_MIN_MS,
      "grpc.max_reconnect_backoff_ms": BACKOFF_MAX_MS,
    }) as unknown as grpc.Client & { connect(metadata: grpc.Metadata): Stream };
  }

  /** Whether a Welcome arrived on the current stream (messages can be sent). */
  get ready(): boolean {
    return this.welcomed && this.stream !== undefined;
  }

  start(): void {
    this.open();
  }

  private open(): void {
    if (this.closing) return;
    const stream = this.client.connect(this.metadata.clone());
    this.stream = stream;
    this.welcomed = false;
    stream.on("data", (msg: CoordinatorMessage) => {
      if (this.stream !== stream) return;
      this.dispatch(msg);
    });
    const broken = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      const wasWelcomed = this.welcomed;
      this.welcomed = false;
      if (this.closing) return;
      this.log.warn({ coordinator: this.address, why, retryMs: this.backoffMs }, "coordinator stream broken; reconnecting");
      if (wasWelcomed) this.handlers.disconnected();
      this.retryTimer = setTimeout(() => this.open(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    };
    stream.on("error", (err: grpc.ServiceError) => {
      if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
        this.log.error({ coordinator: this.address, why: err.details }, "the coordinator refused this agent's token (check $ORRERY_TOKEN); retrying");
        this.backoffMs = BACKOFF_MAX_MS;
      }
      broken(err.details || err.message);
    });
    stream.on("end", () => broken("the coordinator ended the stream"));
    stream.write(create(AgentMessageSchema, this.handlers.hello()));
  }

  private dispatch(msg: CoordinatorMessage): void {
    switch (msg.msg.case) {
      case "welcome":
        this.welcomed = true;
        this.backoffMs = BACKOFF_MIN_MS;
        this.log.info({ coordinator: this.address }, "welcomed by the coordinator");
        this.handlers.welcome(msg.msg.value);
        break;
      case "lease":
        this.handlers.lease(msg.msg.value);
        break;
      case "cancel":
        this.handlers.cancel(msg.msg.value);
        break;
      case "resultAck":
        this.handlers.resultAck(msg.msg.value);
        break;
      default:
        this.log.warn({ msg: msg.msg.case }, "unknown message from the coordinator ignored");
    }
  }

  /** Sends on the current stream once welcomed; resolves true when handed to the transport. */
  send(message: AgentMessageInit): Promise<boolean> {
    const stream = this.stream;
    if (!stream || !this.welcomed) return Promise.resolve(false);
    return new Promise((resolve) => {
      // A stream that dies with the write pending may never call back; journaled results go again anyway.
      const timer = setTimeout(() => resolve(false), SEND_TIMEOUT_MS);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        resolve(ok);
      };
      try {
        stream.write(create(AgentMessageSchema, message), (err: Error | null | undefined) => done(!err));
      } catch {
        done(false);
      }
    });
  }

  /** Half-closes the stream, waits briefly for the coordinator to close its side, and closes the channel. */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          stream.cancel();
          resolve();
        }, graceMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        stream.once("end", done);
        stream.once("error", done);
        stream.once("status", done);
        stream.end();
      });
    }
    this.client.close();
  }
}
