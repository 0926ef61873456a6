// The local cluster's EC2-style instance-metadata service: each spot agent
// has an endpoint of its own under /<agent-id>/, speaking IMDSv2 (a PUT for
// a session token, then GETs carrying it). Notices are files under
// DIR/data/metadata, written by `orrery local preempt`: a restarted server
// loses none, and posting one needs no door into the server (nothing on the
// network can preempt an agent; only who owns DIR).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";

export interface SpotInstanceAction {
  action: "terminate" | "stop" | "hibernate";
  /** ISO 8601: when the node is reclaimed. */
  time: string;
}

export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";
/** EC2's bounds on a token's lifetime. */
const MAX_TTL_S = 21_600;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** DATA/metadata: the service's folder in a cluster's data dir. */
export function metadataDir(dataDir: string): string {
  return join(dataDir, "metadata");
}

function agentDir(dataDir: string, agentId: string): string {
  if (!AGENT_ID.test(agentId)) throw new Error(`not an agent id: ${agentId}`);
  return join(metadataDir(dataDir), "agents", agentId);
}

/** The agent gets an endpoint (answering 404 to the notice until one is posted). */
export function registerSpotAgent(dataDir: string, agentId: string): void {
  mkdirSync(agentDir(dataDir, agentId), { recursive: true });
}

export function isSpotAgentRegistered(dataDir: string, agentId: string): boolean {
  return AGENT_ID.test(agentId) && existsSync(agentDir(dataDir, agentId));
}

/** Posts the agent's notice: written whole and renamed into place, so the server never reads half of one. */
export function postSpotNotice(dataDir: string, agentId: string, notice: SpotInstanceAction): void {
  const dir = agentDir(dataDir, agentId);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "instance-action.json");
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(notice));
  renameSync(tmp, file);
}

/** Takes the notice back (a node that came back under the same id). */
export function clearSpotNotice(dataDir: string, agentId: string): void {
  rmSync(join(agentDir(dataDir, agentId), "instance-action.json"), { force: true });
}

function readNotice(dataDir: string, agentId: string): string | undefined {
  try {
    return readFileSync(join(agentDir(dataDir, agentId), "instance-action.json"), "utf8");
  } catch {
    return undefined;
  }
}

/** The URL an agent polls for its notice (its token URL is ../../api/token from there, as on EC2). */
export function spotNoticeUrl(metadataUrl: string, agentId: string): string {
  return `${metadataUrl}/${agentId}/latest/meta-data/spot/instance-action`;
}

/**
 * The HTTP service over `dataDir`'s notices. Tokens live in memory: after a
 * restart an agent's token answers 401 and the agent asks for a new one, as
 * IMDSv2 clients do.
 */
export function createInstanceMetadataServer(dataDir: string, clock: () => number = Date.now): Server {
  const tokens = new Map<string, { agentId: string; expiresMs: number }>();
  const send = (res: ServerResponse, status: number, body = "", type = "text/plain") => {
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) }).end(body);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://metadata").pathname;
    const m = /^\/([^/]+)(\/latest\/.*)$/.exec(path);
    const agentId = m?.[1] ?? "";
    if (!m || !isSpotAgentRegistered(dataDir, agentId)) return send(res, 404, "Not Found");
    const route = m[2];
    if (route === "/latest/api/token") {
      if (req.method !== "PUT") return send(res, 405, "Method Not Allowed");
      const ttl = Number(req.headers[TOKEN_TTL_HEADER]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_S) return send(res, 400, `${TOKEN_TTL_HEADER} must be 1..${MAX_TTL_S}`);
      const now = clock();
      for (const [t, v] of tokens) if (v.expiresMs <= now) tokens.delete(t);
      const token = randomBytes(24).toString("base64url");
      tokens.set(token, { agentId, expiresMs: now + ttl * 1000 });
      res.setHeader(TOKEN_TTL_HEADER, String(ttl));
      return send(res, 200, token);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "Method Not Allowed");
    const given = req.headers[TOKEN_HEADER];
    const session = typeof given === "string" ? tokens.get(given) : undefined;
    // A token is its agent's: another agent's endpoint does not take it.
    if (!session || session.agentId !== agentId || session.expiresMs <= clock()) return send(res, 401, "Unauthorized");
    if (route !== "/latest/meta-data/spot/instance-action") return send(res, 404, "Not Found");
    const notice = readNotice(dataDir, agentId);
    return notice === undefined ? send(res, 404, "Not Found") : send(res, 200, notice, "application/json");
  };
  return createServer((req, res) => {
    // The body (none is expected) is drained so keep-alive connections stay usable.
    req.resume();
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) send(res, 500, "Internal Server Error");
    }
  });
}
