/** Reading request bodies with a hard limit, keeping enough of an oversize body to review. */
import type { IncomingMessage } from 'node:http';

export interface ReadBody {
  /** What we kept: all of it, or the first `keepBytes` of an oversize body. */
  raw: Buffer;
  /** Bytes received in total (counted up to `abandonAfterBytes`). */
  size: number;
  oversize: boolean;
  /** We stopped reading: the connection must be closed after answering. */
  abandoned: boolean;
}

export interface ReadBodyOptions {
  limitBytes: number;
  /** How much of an oversize body to keep for quarantine. */
  keepBytes: number;
  /** Past this we stop reading altogether. */
  abandonAfterBytes: number;
}

export function readBody(req: IncomingMessage, o: ReadBodyOptions): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let size = 0;
    let settled = false;
    const finish = (abandoned: boolean) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve({ raw: Buffer.concat(chunks), size, oversize: size > o.limitBytes, abandoned });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      const room = Math.max(o.limitBytes + 1, o.keepBytes) - kept;
      if (room > 0) {
        const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
        chunks.push(piece);
        kept += piece.length;
      }
      if (size > o.abandonAfterBytes) {
        req.pause();
        finish(true);
      }
    };
    req.on('data', onData);
    req.on('end', () => finish(false));
    req.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
  }).then((b) => {
    const body = b as ReadBody;
    // An oversize body is kept only up to keepBytes.
    return body.oversize ? { ...body, raw: body.raw.subarray(0, o.keepBytes) } : body;
  });
}
