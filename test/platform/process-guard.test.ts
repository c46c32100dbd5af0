// An unhandled promise rejection is a bug; with the guard it is logged and
// counted, and the process keeps serving everyone else.
import { describe, expect, it } from 'vitest';
import { spawnTs } from '../support/child-process.js';

describe('unhandled rejection guard', () => {
  it('logs and counts the rejection instead of ending the process', async () => {
    const child = spawnTs('test/support/child-rejection.ts', {});
    let stderr = '';
    child.proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const report = await child.waitFor((m) => m.event === 'alive');
    expect(report.counted).toBe(1);
    expect(await child.exited).toBe(0);
    expect(stderr).toMatch(/unhandled promise rejection/);
    expect(stderr).toMatch(/nobody handles me/);
  });
});
