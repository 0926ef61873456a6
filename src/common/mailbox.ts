/**
 * An actor's mailbox: messages are handled one at a time, in order, so the
 * actor's state is never touched by two handlers at once.
 */
export class Mailbox {
  private tail: Promise<unknown> = Promise.resolve();

  send<T>(handler: () => Promise<T> | T): Promise<T> {
    const run = this.tail.then(handler, handler);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
