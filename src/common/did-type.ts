// DID types on the wire (the ContentsDidType enum) and as people and the
// catalog write them (FILE, DATASET, CONTAINER): converted at the edges only.
import { ContentsDidType } from "../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "./errors.js";

export const DID_TYPE_NAMES = ["FILE", "DATASET", "CONTAINER"] as const;
export type DidTypeName = (typeof DID_TYPE_NAMES)[number];

const toWire: Record<DidTypeName, ContentsDidType> = {
  FILE: ContentsDidType.FILE,
  DATASET: ContentsDidType.DATASET,
  CONTAINER: ContentsDidType.CONTAINER,
};

export function contentsDidType(name: DidTypeName): ContentsDidType {
  return toWire[name];
}

/** The name of a wire type; UNSPECIFIED (an older or broken peer) reads as an error, not a guess. */
export function didTypeName(type: ContentsDidType): DidTypeName {
  switch (type) {
    case ContentsDidType.FILE:
      return "FILE";
    case ContentsDidType.DATASET:
      return "DATASET";
    case ContentsDidType.CONTAINER:
      return "CONTAINER";
    case ContentsDidType.UNSPECIFIED:
      throw new OrreryError(ErrorCode.INTERNAL, "the data backbone answered a DID without its type");
  }
}
