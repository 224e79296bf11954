/**
 * The in-process stage (the default): decode each new file here, embed in batches with the
 * run's encoder, write each batch through the writer. A batch's embedding overlaps with the
 * decoding of the next files; a failing encoder stops the run (the job is marked failed).
 */
import { decodeBytes, type DecodedImage } from './decode.js';
import type { EmbedStage, NewContent, StageEnv, StageFactory } from './stage.js';
import type { FoundFile } from './walk.js';

interface Pending {
  file: FoundFile;
  decoded: DecodedImage;
}

class LocalStage implements EmbedStage {
  private batch: Pending[] = [];
  private flushing: Promise<void> = Promise.resolve();
  failed = false;
  readonly pending = 0; // what it takes is written before the run ends, by this process

  constructor(private readonly env: StageEnv) {}

  async submit({ file, hash, bytes }: NewContent): Promise<void> {
    try {
      // Decoded first, then pushed: `this.batch.push(await ...)` would take the array before the
      // decode, and a batch handed on meanwhile (another lane's settle) would gain it too late.
      const decoded = await decodeBytes(bytes, this.env.decode, hash);
      this.batch.push({ file, decoded });
    } catch (err) {
      this.env.writer.fail(file, err);
    }
  }

  async settle(): Promise<void> {
    if (this.batch.length < this.env.batch) return;
    await this.flushing; // the previous batch's embedding overlapped with these decodes
    const items = this.batch;
    this.batch = [];
    this.flushing = this.flush(items);
    // A failure while the next files decode is handled here (not an unhandled rejection, which
    // would end the process before the job is marked failed); the run stops and `finish`
    // rethrows it.
    this.flushing.catch(() => (this.failed = true));
  }

  async finish(): Promise<void> {
    await this.flushing;
    const items = this.batch;
    this.batch = [];
    await this.flush(items);
  }

  async close(): Promise<void> {}

  private async flush(items: Pending[]): Promise<void> {
    if (items.length === 0) return;
    const vectors = await this.env.embedder.embed(
      items.map((p) => p.decoded.input),
      this.env.width,
    );
    this.env.writer.write(
      items.map(({ file, decoded: d }, i) => ({
        hash: d.hash,
        size: d.size,
        width: d.width,
        height: d.height,
        format: d.format,
        thumbnail: d.thumbnail,
        vector: vectors[i]!,
        files: [file],
      })),
    );
  }
}

export const localStage: StageFactory = async (env) => new LocalStage(env);
