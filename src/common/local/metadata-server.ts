// The local cluster's instance-metadata service as its own process (role
// `metadata`), so `local restart metadata` and `local down` treat it like
// any other server. Ready once it listens (the launcher probes the port).
//   node metadata-server.js --data DIR --port P
import { parseArgs } from "node:util";
import { createInstanceMetadataServer } from "./instance-metadata.js";

const { values } = parseArgs({ options: { data: { type: "string" }, port: { type: "string" } } });
if (values.data === undefined || values.port === undefined) {
  process.stderr.write("usage: metadata-server.js --data DIR --port P\n");
  process.exit(2);
}

const server = createInstanceMetadataServer(values.data);
server.listen(Number(values.port), "127.0.0.1");
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
