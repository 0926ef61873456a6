import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ReplicaRegistrationSchema, type ReplicaRegistration } from "../../gen/orrery/v1/dbb_pb.js";
import { replicaPath, validateRegistration } from "./registration.js";

function reg(over: { file?: Record<string, unknown>; [k: string]: unknown } = {}): ReplicaRegistration {
  const { file, ...rest } = over;
  return create(ReplicaRegistrationSchema, {
    file: { scope: "hsc", name: "raw/r_1.fits", datasetType: "raw", dataId: '{"exposure":1,"instrument":"HSC"}', bytes: 10n, adler32: "0A0B0C0D", md5: "D41D8CD98F00B204E9800998ECF8427E", ...file },
    rse: "site-a-disk",
    ...rest,
  } as never);
}

describe("validateRegistration", () => {
  it("puts checksums, data id and times in canonical form", () => {
    const v = validateRegistration(reg({ file: { dataId: '{"instrument":"HSC","exposure":1}', validFrom: "2026-03-01T00:00:00+01:00" } }));
    expect(v.file.adler32).toBe("0a0b0c0d");
    expect(v.file.md5).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(v.file.dataId).toBe('{"exposure":1,"instrument":"HSC"}');
    expect(v.file.metadata).toBe("{}");
    expect(v.file.validFrom).toBe("2026-02-28T23:00:00.000Z");
    expect(v.collection).toBeUndefined();
  });

  it("defaults the replica path to the RSE's object key", () => {
    expect(replicaPath(validateRegistration(reg()), "pre/")).toBe("pre/hsc/raw/r_1.fits");
    expect(replicaPath(validateRegistration(reg({ path: "/x/y.fits" })), "pre")).toBe("x/y.fits");
  });

  it("parses the collection DID", () => {
    expect(validateRegistration(reg({ collection: "hsc:ingest-1" })).collection).toEqual({ scope: "hsc", name: "ingest-1" });
  });

  it("parses the container DID the collection joins", () => {
    const v = validateRegistration(reg({ collection: "drp:run1/isr", container: "drp:run1" }));
    expect([v.collection, v.container]).toEqual([{ scope: "drp", name: "run1/isr" }, { scope: "drp", name: "run1" }]);
    expect(validateRegistration(reg()).container).toBeUndefined();
  });

  it.each([
    [{ file: { adler32: "xyz" } }, /adler32 of hsc:raw\/r_1.fits/],
    [{ file: { md5: "00" } }, /md5/],
    [{ file: { dataId: "[1]" } }, /dataId of hsc:raw\/r_1.fits is not a JSON object/],
    [{ file: { dataId: '{"a":true}' } }, /dataId.a/],
    [{ file: { scope: "bad scope" } }, /file.scope/],
    [{ file: { datasetType: "" } }, /datasetType/],
    [{ rse: "Bad_RSE" }, /rse of hsc:raw\/r_1.fits/],
    [{ file: { validTo: "tomorrow" } }, /validTo/],
    [{ collection: "nocolon" }, /not a DID/],
    [{ container: "drp:run1" }, /container of hsc:raw\/r_1.fits is given without a collection/],
    [{ collection: "drp:run1", container: "drp:run1" }, /is also its collection/],
    [{ collection: "drp:ds", container: "bad scope:x" }, /container scope/],
  ])("refuses %j", (over, message) => {
    expect(() => validateRegistration(reg(over as never))).toThrow(message);
  });

  it("refuses a registration without a file", () => {
    expect(() => validateRegistration(create(ReplicaRegistrationSchema, { rse: "a" }))).toThrow(/no file/);
  });
});
