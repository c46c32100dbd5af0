// The BlurHash encoder against values worked out by hand from the format.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeBlurhash, makePlaceholder } from '../../src/platform/images/placeholder.js';

describe('placeholders', () => {
  it('encodes the size flag, AC maximum and the average colour where the format puts them', () => {
    const red = new Uint8Array(4 * 4 * 3).map((_, i) => (i % 3 === 0 ? 255 : 0));
    // 1×1 components: flag 0, no AC (maximum 0), DC 0xff0000 in four base-83 digits.
    expect(encodeBlurhash(red, 4, 4, 1, 1)).toBe('00TI:j');
    const hash = encodeBlurhash(red, 4, 4);
    // 4×3: flag (4-1)+(3-1)*9 = 21 = 'L', then 2 characters for each of 11 AC components.
    expect(hash).toHaveLength(4 + 2 + 2 * 11);
    expect(hash[0]).toBe('L');
    expect(hash.slice(2, 6)).toBe('TI:j');
  });

  it('gives a 28-character hash and the dominant colour of a real image', async () => {
    const blue = await sharp({ create: { width: 100, height: 80, channels: 3, background: '#1040c0' } }).png().toBuffer();
    const p = await makePlaceholder(blue);
    expect(p.blurhash).toHaveLength(28);
    // sharp reports the dominant colour to the centre of a 16-level histogram bin.
    expect(p.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(p.dominantColor.slice(i, i + 2), 16));
    expect(b).toBeGreaterThan(r! + 100);
    expect(b).toBeGreaterThan(g!);
  });
});
