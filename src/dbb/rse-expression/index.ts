// RSE expressions (Rucio's language for choosing storage elements): parse, evaluate, resolve.
export type { RseExpression, RseComparison, RseSetOperator, RseLike } from "./ast.js";
export { parseRseExpression } from "./parse.js";
export { evaluate, resolve } from "./evaluate.js";
