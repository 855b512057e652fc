/**
 * A token bucket for one connection's incoming messages: `burst` messages at once, refilled at `perSecond`.
 * Every message costs one token whatever it is, so a peer cannot make the server validate, answer or relay
 * faster than the budget allows; a y-websocket client (one update per local transaction, presence at 20 Hz,
 * two or three messages to connect) stays far below it.
 */
export class MessageBudget {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Takes a token for one message; false when the budget is spent (the message is over the limit). */
  take(): boolean {
    if (this.burst === Infinity) return true;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
