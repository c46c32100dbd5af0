import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { isValidMimePattern, mimeMatches, parseContentLengthOrRange, sniffMime } from '../../../src/platform/net/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('sniffMime', () => {
  it('detects a PNG made by sharp', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).png().toBuffer();
    expect(await sniffMime(png)).toEqual({ mime: 'image/png', ext: 'png' });
    // Only the first bytes are needed.
    expect(await sniffMime(png.subarray(0, 64))).toMatchObject({ mime: 'image/png' });
  });

  it('detects a JPEG and a WebP', async () => {
    const base = () => sharp({ create: { width: 4, height: 4, channels: 3, background: 'blue' } });
    expect(await sniffMime(await base().jpeg().toBuffer())).toMatchObject({ mime: 'image/jpeg' });
    expect(await sniffMime(await base().webp().toBuffer())).toMatchObject({ mime: 'image/webp' });
  });

  it.each([
    ['<!DOCTYPE html><html><body>hi</body></html>', 'text/html'],
    ['\ufeff  \n<html lang="en">', 'text/html'],
    ['<!-- banner -->\n<html>', 'text/html'],
    ['<svg xmlns="http://www.w3.org/2000/svg" width="4"/>', 'image/svg+xml'],
    ['<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg xmlns="http://www.w3.org/2000/svg">', 'image/svg+xml'],
    ['<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', 'application/xml'],
    ['{"type":"photo","url":"http://x/y.jpg"}', 'application/json'],
    ['[1, 2, 3]', 'application/json'],
    ['{"truncated": "docum', 'application/json'],
    ['just some words, nothing else', 'text/plain'],
    ['{ not json at all', 'text/plain'],
  ])('detects %j as %s', async (text, mime) => {
    expect((await sniffMime(bytes(text)))?.mime).toBe(mime);
  });

  it('gives up on unknown binary and on empty input', async () => {
    expect(await sniffMime(new Uint8Array([0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0x10, 0x00]))).toBeUndefined();
    expect(await sniffMime(new Uint8Array())).toBeUndefined();
  });
});

describe('mimeMatches / isValidMimePattern', () => {
  it.each([
    ['image/png', ['image/*'], true],
    ['image/png', ['*/*'], true],
    ['image/png', ['*'], true],
    ['image/png', ['image/png'], true],
    ['IMAGE/PNG', ['image/png'], true],
    ['image/svg+xml', ['image/*'], true],
    ['text/html; charset=utf-8', ['text/html'], true],
    ['image/png', ['video/*', 'image/jpeg'], false],
    ['image/png', ['image/png', 'video/*'], true],
    ['application/json', ['image/*'], false],
    ['imagefoo/png', ['image/*'], false],
    ['image/png', [], false],
    ['image/png', ['image/'], false],
    ['nonsense', ['*/*'], false],
  ])('%s vs %j -> %s', (mime, patterns, expected) => {
    expect(mimeMatches(mime, patterns)).toBe(expected);
  });

  it.each([
    ['image/*', true],
    ['*/*', true],
    ['*', true],
    ['application/vnd.api+json', true],
    ['*/png', false],
    ['image', false],
    ['image/', false],
    ['image/png/x', false],
    ['ima ge/png', false],
    ['', false],
  ])('isValidMimePattern(%j) = %s', (p, ok) => {
    expect(isValidMimePattern(p)).toBe(ok);
  });
});

describe('parseContentLengthOrRange', () => {
  it.each([
    [{ 'content-length': '12345' }, 12345],
    [{ 'Content-Length': '0' }, 0],
    [{ 'content-range': 'bytes 0-0/12345', 'content-length': '1' }, 12345],
    [{ 'content-range': 'bytes */999' }, 999],
    [{ 'content-range': 'bytes 0-0/*', 'content-length': '1' }, 1],
    [{ 'content-length': '12, 12' }, 12],
    [{ 'content-length': '12, 13' }, undefined],
    [{ 'content-length': '-1' }, undefined],
    [{ 'content-length': '1e3' }, undefined],
    [{ 'content-length': '99999999999999999999' }, undefined],
    [{}, undefined],
  ])('%j -> %s', (headers, expected) => {
    expect(parseContentLengthOrRange(headers)).toBe(expected);
    expect(parseContentLengthOrRange(new Headers(headers))).toBe(expected);
  });

  it('can ignore Content-Range to get this body’s own length', () => {
    expect(parseContentLengthOrRange({ 'content-range': 'bytes 0-0/500', 'content-length': '1' }, { partial: false })).toBe(1);
  });
});
