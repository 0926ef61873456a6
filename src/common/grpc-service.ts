// grpc-js carries protobuf-es messages: service definitions are built from the
// generated descriptors, serialized with toBinary and parsed with fromBinary.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { fromGrpcError, toGrpcError } from "./errors.js";
import { callMetadata, channelSecurity, type ClientSecurity } from "./grpc-security.js";

export function grpcServiceDefinition(service: GenService<GenServiceMethods>): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const input = method.input;
    const output = method.output;
    def[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (m: unknown) => Buffer.from(toBinary(input, m as MessageShape<DescMessage>)),
      requestDeserialize: (b: Buffer) => fromBinary(input, b),
      responseSerialize: (m: unknown) => Buffer.from(toBinary(output, m as MessageShape<DescMessage>)),
      responseDeserialize: (b: Buffer) => fromBinary(output, b),
      originalName: method.localName,
    };
  }
  return def;
}

type UnaryMethods<T extends GenServiceMethods> = {
  [K in keyof T as T[K]["methodKind"] extends "unary" ? K : never]: T[K];
};

/** Async implementations of a service's unary methods; errors become gRPC statuses. */
export type UnaryImplementation<T extends GenServiceMethods> = {
  [K in keyof UnaryMethods<T>]: (
    request: MessageShape<T[K]["input"]>,
  ) => Promise<MessageInitShape<T[K]["output"]>>;
};

export function unaryHandlers<T extends GenServiceMethods>(
  service: GenService<T>,
  /** A method it lacks answers UNIMPLEMENTED. */
  impl: Partial<UnaryImplementation<T>>,
): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const fn = (impl as Record<string, (req: unknown) => Promise<MessageInitShape<DescMessage>>>)[method.localName];
    if (fn === undefined) continue;
    const output = method.output;
    handlers[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      fn(call.request).then(
        (res) => callback(null, create(output, res)),
        (err: unknown) => callback(toGrpcError(err)),
      );
    };
  }
  return handlers;
}

/** A promise-based client of a service's unary methods. */
export type UnaryClient<T extends GenServiceMethods> = {
  [K in keyof UnaryMethods<T>]: (
    request: MessageInitShape<T[K]["input"]>,
    options?: { timeoutMs?: number },
  ) => Promise<MessageShape<T[K]["output"]>>;
} & { close(): void; raw: grpc.Client };

/** The largest answer a unary client takes. */
const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

export function createUnaryClient<T extends GenServiceMethods>(
  service: GenService<T>,
  address: string,
  defaultTimeoutMs = 30_000,
  /** TLS and bearer token of a closed coordinator (clientSecurity(cluster)); none: plaintext, no token. */
  security?: ClientSecurity,
): UnaryClient<T> {
  const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.typeName);
  const channel = channelSecurity(security, address);
  // grpc-js refuses answers over 4 MB by default: `orrery quanta` of a 20,000-quantum campaign is more.
  const raw = new Ctor(address, channel.credentials, { ...channel.options, "grpc.max_receive_message_length": MAX_ANSWER_BYTES }) as unknown as grpc.Client &
    Record<string, (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: unknown, res: unknown) => void) => void>;
  const client: Record<string, unknown> = { close: () => raw.close(), raw };
  const metadata = callMetadata(security);
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const input = method.input;
    client[method.localName] = (request: MessageInitShape<DescMessage>, options: { timeoutMs?: number } = {}) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + (options.timeoutMs ?? defaultTimeoutMs);
        const fn = raw[method.localName]!.bind(raw);
        fn(create(input, request), metadata.clone(), { deadline }, (err, res) => {
          if (err) reject(fromGrpcError(err, address));
          else resolve(res);
        });
      });
  }
  return client as UnaryClient<T>;
}

/** Resolves when the channel to `address` is ready, or throws UNAVAILABLE after `timeoutMs`. */
export function waitForChannel(client: grpc.Client, address: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (err) => {
      if (err) reject(fromGrpcError({ code: grpc.status.UNAVAILABLE, details: err.message }, address));
      else resolve();
    });
  });
}

/** The method shapes of a generated service: `UnaryImplementation<MethodsOf<typeof Svc>>`. */
export type MethodsOf<S> = S extends GenService<infer T extends GenServiceMethods> ? T : never;
