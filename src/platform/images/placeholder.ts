// Cheap stand-ins a client shows while the real image loads: a BlurHash string
// (decoders exist for every UI toolkit) and the dominant colour. The encoder is
// written from the BlurHash format description (DCT components over linear RGB,
// quantised into base 83) because the blurhash package is not a dependency.
import sharp from 'sharp';
import { MAX_INPUT_PIXELS } from './thumbnail.js';

const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
// The hash only carries a few cosine components; a tiny sample is plenty and keeps it fast.
const SAMPLE_EDGE = 32;

function base83(value: number, length: number): string {
  let out = '';
  for (let i = 1; i <= length; i++) out += BASE83[Math.floor(value / 83 ** (length - i)) % 83];
  return out;
}

const toLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const toSrgb = (v: number) => {
  const c = Math.max(0, Math.min(1, v));
  return Math.round((c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055) * 255);
};
const signedSqrt = (v: number) => Math.sign(v) * Math.sqrt(Math.abs(v));

/** BlurHash of raw RGB pixels, componentsX × componentsY in 1..9. */
export function encodeBlurhash(rgb: Uint8Array, width: number, height: number, componentsX = 4, componentsY = 3): string {
  const linear = Float64Array.from(rgb, toLinear);
  const factors: [number, number, number][] = [];
  for (let j = 0; j < componentsY; j++) {
    for (let i = 0; i < componentsX; i++) {
      const norm = i === 0 && j === 0 ? 1 : 2;
      let r = 0, g = 0, b = 0;
      for (let y = 0; y < height; y++) {
        const cy = Math.cos((Math.PI * j * y) / height);
        for (let x = 0; x < width; x++) {
          const basis = norm * cy * Math.cos((Math.PI * i * x) / width);
          const p = 3 * (y * width + x);
          r += basis * linear[p]!;
          g += basis * linear[p + 1]!;
          b += basis * linear[p + 2]!;
        }
      }
      const scale = 1 / (width * height);
      factors.push([r * scale, g * scale, b * scale]);
    }
  }
  const [dc, ...ac] = factors as [[number, number, number], ...[number, number, number][]];
  let hash = base83(componentsX - 1 + (componentsY - 1) * 9, 1);
  let maxAc = 1;
  if (ac.length) {
    const actual = Math.max(...ac.flat().map(Math.abs));
    const quantised = Math.max(0, Math.min(82, Math.floor(actual * 166 - 0.5)));
    maxAc = (quantised + 1) / 166;
    hash += base83(quantised, 1);
  } else {
    hash += base83(0, 1);
  }
  hash += base83((toSrgb(dc[0]) << 16) + (toSrgb(dc[1]) << 8) + toSrgb(dc[2]), 4);
  for (const f of ac) {
    const q = f.map((v) => Math.max(0, Math.min(18, Math.floor(signedSqrt(v / maxAc) * 9 + 9.5))));
    hash += base83(q[0]! * 19 * 19 + q[1]! * 19 + q[2]!, 2);
  }
  return hash;
}

export interface Placeholder {
  blurhash: string;
  /** #rrggbb */
  dominantColor: string;
}

/** BlurHash and dominant colour of an (already size-checked) image, EXIF-rotated. */
export async function makePlaceholder(input: Buffer): Promise<Placeholder> {
  const image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).rotate();
  const { data, info } = await image
    .clone()
    .resize(SAMPLE_EDGE, SAMPLE_EDGE, { fit: 'inside' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { dominant } = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels as 3 } }).stats();
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    blurhash: encodeBlurhash(data, info.width, info.height),
    dominantColor: `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}`,
  };
}
