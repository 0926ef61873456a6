// Where the reaper deletes bytes: S3 by default; tests may stand in for it.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { s3ClientFor } from "../../common/s3.js";

export interface ObjectDeleter {
  /** Deletes the object at `path` in the RSE's bucket; a missing object is no error (S3 answers 204). */
  delete(rse: { endpoint: string; bucket: string }, path: string): Promise<void>;
}

export const s3ObjectDeleter: ObjectDeleter = {
  async delete(rse, path) {
    await s3ClientFor(rse.endpoint).send(new DeleteObjectCommand({ Bucket: rse.bucket, Key: path }));
  },
};
