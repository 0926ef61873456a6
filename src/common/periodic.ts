/**
 * A background pass run every `intervalMs`, never two at once (the next waits
 * for the last to end). A failed pass goes to `onError`; the next one retries.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.pass()
        .then(() => undefined)
        .catch(this.onError)
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  /** Stops the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
