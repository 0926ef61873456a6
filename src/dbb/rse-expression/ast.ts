// The parsed form of an RSE expression (Rucio's grammar): terms joined by set
// operators that are read left to right with equal precedence.
import type { StorageTier } from "../../gen/orrery/v1/common_pb.js";

/** `key=value` compares text; `key<n` and `key>n` compare numbers. */
export type RseComparison = "=" | "<" | ">";

export type RseSetOperator = "union" | "intersection" | "complement";

export type RseExpression =
  | { readonly kind: "all" }
  /** A bare word: the RSE of that name if there is one, else every RSE whose attribute of that name is `true`. */
  | { readonly kind: "term"; readonly word: string }
  | { readonly kind: "attribute"; readonly key: string; readonly op: "="; readonly value: string }
  | { readonly kind: "attribute"; readonly key: string; readonly op: "<" | ">"; readonly value: number }
  | { readonly kind: RseSetOperator; readonly left: RseExpression; readonly right: RseExpression };

/** What an expression is evaluated over: the catalog's RSEs (site and tier count as attributes). */
export interface RseLike {
  readonly name: string;
  readonly site: string;
  readonly tier: StorageTier;
  readonly attributes: Readonly<Record<string, string>>;
}
