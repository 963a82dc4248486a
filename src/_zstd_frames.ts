/**
 * Follows the frame structure of a zstd stream (RFC 8878 §3.1) without decoding it, to tell
 * a complete stream from a truncated one. Deno's and Bun's `node:zlib` end a truncated zstd
 * stream without an error (denoland/deno#29638, oven-sh/bun#33413); this walk over the
 * compressed bytes (headers read, block contents skipped by their sizes) catches it on
 * every runtime alike. It also counts frames: Node's and Deno's zstd decode only the first
 * frame of a stream (nodejs/node#64741).
 *
 * @module
 */

const MAGIC = 0;
const SKIPPABLE_SIZE = 1;
const DESCRIPTOR = 2;
const BLOCK_HEADER = 3;
const SKIP = 4;

/** Byte sizes of the Dictionary_ID field by its flag. */
const DICTIONARY_ID_SIZES = [0, 1, 2, 4];

/** A walker over one zstd stream's bytes, fed in order. */
export class ZstdFrames {
  #state = MAGIC;
  #field = new Uint8Array(4);
  #have = 0; // bytes of #field collected
  #skip = 0; // bytes to skip in state SKIP
  #afterSkip = MAGIC;
  #checksum = false;
  #lastBlock = false;
  #frames = 0;
  #started = 0;
  #unknown = false; // not a zstd stream: the decoder reports it

  /** Whether the bytes so far end exactly after a whole frame (or are not zstd at all). */
  get complete(): boolean {
    return this.#unknown || (this.#frames > 0 && this.#state === MAGIC && this.#have === 0);
  }

  /** Frames begun so far (skippable ones included). */
  get started(): number {
    return this.#started;
  }

  /** Follows `bytes`. */
  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length && !this.#unknown) {
      if (this.#state === SKIP) {
        const step = Math.min(this.#skip, bytes.length - at);
        this.#skip -= step;
        at += step;
        if (this.#skip === 0) this.#state = this.#afterSkip;
        continue;
      }
      const need = this.#state === DESCRIPTOR ? 1 : this.#state === BLOCK_HEADER ? 3 : 4;
      while (this.#have < need && at < bytes.length) this.#field[this.#have++] = bytes[at++];
      if (this.#have < need) return;
      this.#have = 0;
      this.#onField(need);
    }
  }

  /** A whole field of the current state was collected. */
  #onField(size: number): void {
    const f = this.#field;
    const value = size === 1
      ? f[0]
      : size === 3
      ? f[0] | (f[1] << 8) | (f[2] << 16)
      : (f[0] | (f[1] << 8) | (f[2] << 16) | (f[3] << 24)) >>> 0;
    switch (this.#state) {
      case MAGIC:
        if (value === 0xfd2fb528) this.#state = DESCRIPTOR;
        else if ((value & 0xfffffff0) >>> 0 === 0x184d2a50) this.#state = SKIPPABLE_SIZE;
        else return void (this.#unknown = true);
        this.#started++;
        return;
      case SKIPPABLE_SIZE:
        this.#frames++;
        this.#skipThen(value, MAGIC);
        return;
      case DESCRIPTOR: {
        const contentSizeFlag = value >> 6;
        const singleSegment = (value >> 5) & 1;
        this.#checksum = ((value >> 2) & 1) === 1;
        const contentSize = contentSizeFlag === 0 ? singleSegment : 1 << contentSizeFlag;
        const rest = (singleSegment ? 0 : 1) + DICTIONARY_ID_SIZES[value & 3] + contentSize;
        this.#skipThen(rest, BLOCK_HEADER);
        return;
      }
      default: { // BLOCK_HEADER
        this.#lastBlock = (value & 1) === 1;
        const type = (value >> 1) & 3;
        if (type === 3) {
          this.#unknown = true; // reserved: the decoder reports it
          return;
        }
        const content = type === 1 ? 1 : value >>> 3;
        if (!this.#lastBlock) return this.#skipThen(content, BLOCK_HEADER);
        this.#frames++;
        this.#skipThen(content + (this.#checksum ? 4 : 0), MAGIC);
      }
    }
  }

  #skipThen(bytes: number, next: number): void {
    if (bytes === 0) {
      this.#state = next;
      return;
    }
    this.#skip = bytes;
    this.#afterSkip = next;
    this.#state = SKIP;
  }
}
