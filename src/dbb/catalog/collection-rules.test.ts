import { describe, expect, it } from "vitest";
import { isOrreryError } from "../../common/errors.js";
import { checkAttachable, checkDetachable, checkNoCycle, isOpen, parentTypeFor, type DidView } from "./collection-rules.js";

const fileView = (did: string): DidView => ({ did, type: "FILE", open: false });
const dataset = (did: string, open = true): DidView => ({ did, type: "DATASET", open });
const container = (did: string, open = true): DidView => ({ did, type: "CONTAINER", open });

describe("collection rules (Rucio's)", () => {
  it("makes an absent parent a DATASET for files and a CONTAINER for collections, never both", () => {
    expect(parentTypeFor("s:p", [fileView("s:a"), fileView("s:b")])).toBe("DATASET");
    expect(parentTypeFor("s:p", [dataset("s:d"), container("s:c")])).toBe("CONTAINER");
    expect(() => parentTypeFor("s:p", [fileView("s:a"), dataset("s:d")])).toThrow(/would hold files and collections/);
  });

  it("counts a collection without the open flag as open, and a file as never open", () => {
    expect(isOpen("DATASET", null)).toBe(true);
    expect(isOpen("CONTAINER", "0")).toBe(false);
    expect(isOpen("FILE", "1")).toBe(false);
    expect(isOpen(undefined, "1")).toBe(false);
  });

  it.each([
    [container("s:c"), fileView("s:f"), /s:f is a FILE: files cannot be attached to a CONTAINER \(s:c\); attach files to a DATASET/],
    [dataset("s:d"), dataset("s:e"), /s:e is a DATASET: only files can be attached to a DATASET/],
    [dataset("s:d"), container("s:c"), /s:c is a CONTAINER: only files can be attached to a DATASET/],
    [fileView("s:f"), fileView("s:g"), /s:f is a FILE: nothing can be attached to a file/],
    [dataset("s:d", false), fileView("s:f"), /s:d is a closed DATASET/],
    [container("s:c"), container("s:c"), /s:c cannot be attached to itself/],
  ])("refuses %j ⊃ %j", (parent, child, message) => {
    expect(() => checkAttachable({ did: parent.did, type: parent.type!, open: parent.open }, child)).toThrow(message);
  });

  it("accepts files into an open dataset and collections into an open container", () => {
    expect(() => checkAttachable({ did: "s:d", type: "DATASET", open: true }, fileView("s:f"))).not.toThrow();
    expect(() => checkAttachable({ did: "s:c", type: "CONTAINER", open: true }, dataset("s:d", false))).not.toThrow();
    expect(() => checkAttachable({ did: "s:c", type: "CONTAINER", open: true }, container("s:e"))).not.toThrow();
  });

  it("refuses a missing child as NOT_FOUND and a cycle through any ancestor", () => {
    let err: unknown;
    try {
      checkAttachable({ did: "s:d", type: "DATASET", open: true }, { did: "s:x", type: undefined, open: false });
    } catch (e) {
      err = e;
    }
    expect(isOrreryError(err, "NOT_FOUND")).toBe(true);
    expect(() => checkNoCycle("s:c3", "s:c1", new Set(["s:c2", "s:c1"]))).toThrow(/attaching s:c1 to s:c3 would make a cycle: s:c1 already contains s:c3/);
    expect(() => checkNoCycle("s:c3", "s:c9", new Set(["s:c2", "s:c1"]))).not.toThrow();
  });

  it("detaches only what is attached, from an open collection", () => {
    expect(() => checkDetachable(dataset("s:d"), "s:f", false)).toThrow(/s:f is not attached to s:d/);
    expect(() => checkDetachable(dataset("s:d", false), "s:f", true)).toThrow(/closed DATASET/);
    expect(() => checkDetachable({ did: "s:n", type: undefined, open: false }, "s:f", true)).toThrow(/s:n is not in the catalog/);
    expect(() => checkDetachable(dataset("s:d"), "s:f", true)).not.toThrow();
  });
});
