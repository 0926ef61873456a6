/**
 * Tells the launcher (orrery local up, the test harness) that this process is
 * ready, over the IPC channel it was started with, then lets the channel go so
 * the launcher may exit while this process keeps running.
 */
export function signalReady(info: Record<string, unknown> = {}): void {
  if (typeof process.send === "function") {
    process.send({ type: "ready", ...info }, () => process.disconnect?.());
  }
}
