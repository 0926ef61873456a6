// Transfers: the JetStream queue of transfer requests and the workers that
// copy S3 → S3 with checksums verified (reporting to the rules' ledger port).
export { TransferPublisher, type TransferPublisherOptions } from "./transfer-publisher.js";
export { startTransferWorkers, type TransferWorkers, type TransferWorkerOptions, type TransferRse } from "./transfer-worker.js";
export type { TransferObserver } from "./transfer-handler.js";
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
