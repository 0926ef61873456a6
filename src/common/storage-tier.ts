// RSE storage tiers: an enum on the wire (StorageTier), a name for people,
// rse expressions (tier=disk) and the DBB's Redis hashes.
import { StorageTier } from "../gen/orrery/v1/common_pb.js";

export const TIER_NAMES = ["custodial", "disk", "scratch"] as const;
export type TierName = (typeof TIER_NAMES)[number];

const BY_NAME: Record<TierName, StorageTier> = { custodial: StorageTier.CUSTODIAL, disk: StorageTier.DISK, scratch: StorageTier.SCRATCH };

/** The wire tier of a name; undefined for a name that is not a tier. */
export function tierOf(name: string): StorageTier | undefined {
  return (TIER_NAMES as readonly string[]).includes(name) ? BY_NAME[name as TierName] : undefined;
}

/** The name of a wire tier; undefined for UNSPECIFIED or a value this build does not know. */
export function tierName(tier: StorageTier): TierName | undefined {
  return TIER_NAMES.find((n) => BY_NAME[n] === tier);
}
