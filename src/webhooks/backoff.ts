// Retry spacing for deliveries. We schedule retries ourselves (a new job with
// startAfter) instead of leaning on pg-boss's retry timing, so the schedule can
// span seconds to hours and next_retry_at shown to clients is the real one.

export interface BackoffSettings {
  baseSeconds: number;
  maxSeconds: number;
}

/**
 * Milliseconds to wait after failed attempt `attempt` (1-based): base·2^(attempt-1),
 * jittered to 80–120% so receivers coming back up are not hit by every sender at
 * once, and never more than maxSeconds.
 */
export function retryDelayMs(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  // Past 2^30 the cap has long won; the bound keeps the power finite.
  const raw = settings.baseSeconds * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const jittered = raw * (0.8 + 0.4 * random());
  return Math.round(Math.min(jittered, settings.maxSeconds) * 1000);
}
