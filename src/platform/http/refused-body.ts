// A request refused before its body was read (too large, unauthenticated, a
// bad upload) still has bytes on the way. Closing the connection at once would
// make the kernel answer them with a reset, which can destroy our response
// before the client has read it — the client would see "connection reset", not
// the 413. So the rest is read and dropped (never kept) for a bounded time and
// amount — the lingering close web servers do — and the connection is cut only
// if the client keeps sending past that. A body that ends in time leaves the
// connection usable for the next request.
import type { IncomingMessage } from 'node:http';

const LINGER_BYTES = 64 * 1024 * 1024;
const LINGER_MS = 10_000;

export function discardRestOfBody(req: IncomingMessage, limits = { bytes: LINGER_BYTES, ms: LINGER_MS }): void {
  if (req.complete || req.destroyed) return;
  let dropped = 0;
  const cut = () => req.socket?.destroy();
  const timer = setTimeout(cut, limits.ms);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limits.bytes) cut();
  });
  req.once('close', () => clearTimeout(timer));
  req.on('error', () => {});
  req.resume();
}
