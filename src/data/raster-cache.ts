/**
 * One binary file per rasterised image set, so training starts in a second and every worker
 * reads the same bytes: a u32 header length, a JSON header, then the 8-bit pixels (NHWC).
 * Written to a temp file (named by pid, so two builders never share one) and renamed, so a killed
 * build never leaves a half file behind.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export function writeRasterCache(path: string, header: object, pixels: Uint8Array): void {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(json.length);
  writeFileSync(`${path}.${process.pid}.tmp`, Buffer.concat([prefix, json, pixels]));
  renameSync(`${path}.${process.pid}.tmp`, path);
}

export function readRasterCache<H>(path: string): { header: H; pixels: Uint8Array } {
  const buf = readFileSync(path);
  const hlen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8')) as H;
  return {
    header,
    pixels: new Uint8Array(buf.buffer, buf.byteOffset + 4 + hlen, buf.length - 4 - hlen),
  };
}
