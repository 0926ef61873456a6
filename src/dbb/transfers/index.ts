// Transfers: the JetStream queue of transfer requests, the workers that copy
// S3 → S3 with checksums verified, and the ledger port they report to.
export type { TransferRequest, TransferQueue, TransferSource, TransferTask, ClaimResult, TransferLedgerPort } from "./ledger-port.js";
export { TransferPublisher, type TransferPublisherOptions } from "./transfer-publisher.js";
export { startTransferWorkers, type TransferWorkers, type TransferWorkerOptions, type TransferRse } from "./transfer-worker.js";
export { copyVerified, DEFAULT_PART_SIZE, type ObjectLocation, type ExpectedContent, type CopyOptions } from "./s3-copy.js";
export {
  ensureTransferStream,
  ensureTransferConsumer,
  transferConsumerName,
  transferLimitOf,
  transferMsgId,
  DEFAULT_TRANSFER_LIMIT,
  TRANSFER_ACK_WAIT_MS,
  TRANSFER_DUPLICATE_WINDOW_MS,
} from "./transfer-stream.js";
