// Integration tests run the built CLI (bin/orrery.mjs → dist/) as separate
// processes; build first when a source changed (a no-op when up to date).
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync("bash", ["scripts/setup.sh", "--tests"], { stdio: ["ignore", "inherit", "inherit"] });
}
