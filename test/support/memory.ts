// Another process's memory, from /proc: what the kernel says it holds, and its peak.
import fs from 'node:fs';

const MB = 1024 * 1024;

export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))![1]) * 1024;
  return { rssMb: kb('VmRSS') / MB, peakMb: kb('VmHWM') / MB };
}

/**
 * How far `work` takes the process's resident memory above where it was:
 * the peak (VmHWM, reset first through clear_refs so an earlier peak does not
 * hide this one) minus the RSS before.
 */
export async function rssGrowthMb(pid: number, work: () => Promise<void>, settleMs = 300): Promise<number> {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const before = memoryOf(pid).rssMb;
  await work();
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return Math.round(memoryOf(pid).peakMb - before);
}
