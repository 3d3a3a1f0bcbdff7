/**
 * Local health awareness (Lifeguard): when this node misses acks it may itself be the slow one (CPU
 * starvation, a paused process), so it stretches its own timeouts instead of accusing healthy peers.
 * The score moves between 0 and max - 1; timeouts are multiplied by score + 1.
 */

/** A bounded health score. */
export class Awareness {
  private score = 0;

  /** Creates a score bounded by `max` (timeouts are scaled up to max ×). */
  constructor(private readonly max: number) {}

  /** Adds `delta` (positive: worse health), clamped to [0, max - 1]. */
  apply(delta: number): void {
    this.score = Math.min(this.max - 1, Math.max(0, this.score + delta));
  }

  /** `ms` scaled by the current health: ms × (score + 1). */
  scale(ms: number): number {
    return ms * (this.score + 1);
  }

  /** The current score (0 is healthy). */
  get value(): number {
    return this.score;
  }
}
