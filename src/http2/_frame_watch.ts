/**
 * Walks the frames a client sends (sans-IO: fed the bytes as they are written) and keeps
 * the last GOAWAY with its error code and debug text. `node:http2` on Node tells nobody when
 * nghttp2 ends a session for a protocol violation by the peer: it sends GOAWAY and waits
 * for the peer to close. Seeing that frame go out is how the connection learns of it.
 *
 * Cost: one 9-byte frame header read per frame; payloads are skipped without a copy.
 *
 * @module
 */

const PREFACE_LENGTH = 24;
const GOAWAY = 0x7;
/** Debug text kept from a GOAWAY, at most. */
const MAX_DEBUG = 256;

/** A GOAWAY the client sent. */
export interface SentGoaway {
  /** Its error code. */
  errorCode: number;
  /** Its debug data, as text (at most 256 bytes). */
  debug: string;
}

/** Feeds written bytes; keeps the last complete GOAWAY frame in `sent` until taken. */
export class FrameWatcher {
  /** The last GOAWAY seen and not yet taken. */
  sent: SentGoaway | null = null;
  #skip = PREFACE_LENGTH;
  #header = new Uint8Array(9);
  #headerFilled = 0;
  /** GOAWAY payload being collected (its first bytes), or `null`. */
  #goaway: Uint8Array | null = null;
  #goawayFilled = 0;
  #goawayLeft = 0;
  feed(bytes: Uint8Array): void {
    let at = 0;
    const length = bytes.length;
    while (at < length) {
      if (this.#goaway !== null) {
        const take = Math.min(this.#goawayLeft, length - at);
        const room = this.#goaway.length - this.#goawayFilled;
        if (room > 0) {
          const copy = Math.min(room, take);
          this.#goaway.set(bytes.subarray(at, at + copy), this.#goawayFilled);
          this.#goawayFilled += copy;
        }
        this.#goawayLeft -= take;
        at += take;
        if (this.#goawayLeft === 0) this.#goawayDone();
        continue;
      }
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, length - at);
        this.#skip -= take;
        at += take;
        continue;
      }
      const header = this.#header;
      while (this.#headerFilled < 9 && at < length) header[this.#headerFilled++] = bytes[at++];
      if (this.#headerFilled < 9) return;
      this.#headerFilled = 0;
      const payload = (header[0] << 16) | (header[1] << 8) | header[2];
      if (header[3] === GOAWAY && payload >= 8) {
        this.#goaway = new Uint8Array(Math.min(payload, 8 + MAX_DEBUG));
        this.#goawayFilled = 0;
        this.#goawayLeft = payload;
      } else this.#skip = payload;
    }
  }

  #goawayDone(): void {
    const payload = this.#goaway!.subarray(0, this.#goawayFilled);
    this.#goaway = null;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const errorCode = payload.length >= 8 ? view.getUint32(4) : 0;
    const debug = new TextDecoder("latin1").decode(payload.subarray(8));
    this.sent = { errorCode, debug };
  }
}
