/**
 * Loopback-only raw TCP exchanges: the fuzzer writes bytes no HTTP or websocket client library would send.
 * Every exchange is bounded in time and in what it keeps of the answer.
 */
import { connect, type Socket } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export interface RawExchange {
  /** The first bytes the server answered (at most `keep`). */
  answer: Buffer;
  /** The server closed or reset the connection before the deadline. */
  closedByServer: boolean;
}

export interface RawStep {
  bytes: Uint8Array;
  /** Pause before writing these bytes (ms): lets the server react to the previous ones. */
  delayMs?: number;
}

/**
 * Opens a connection, writes the steps, reads until the server closes or `timeoutMs` passes, then destroys it,
 * or, given `hold`, hands a connection the server left open to it (a client that lingers).
 */
export function rawExchange(port: number, steps: RawStep[], opts: { timeoutMs: number; keep?: number; pauseReading?: boolean; hold?: (socket: Socket) => void }): Promise<RawExchange> {
  const keep = opts.keep ?? 4096;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let closedByServer = false;
    const socket: Socket = connect({ host: LOOPBACK, port });
    const finish = () => {
      clearTimeout(timer);
      if (opts.hold && !closedByServer) opts.hold(socket);
      else socket.destroy();
      resolve({ answer: Buffer.concat(chunks), closedByServer });
    };
    const timer = setTimeout(finish, opts.timeoutMs);
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
    socket.on('data', (d: Buffer) => {
      if (kept < keep) chunks.push(d.subarray(0, keep - kept));
      kept += d.length;
    });
    // A reader that stops reading: whatever the server sends for it piles up on its side.
    if (opts.pauseReading) socket.once('data', () => socket.pause());
    socket.once('connect', async () => {
      for (const step of steps) {
        if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
        if (socket.destroyed) return;
        socket.write(step.bytes);
      }
    });
  });
}

/** The status code of an HTTP answer, or null when it did not start with a status line. */
export function statusOf(answer: Buffer): number | null {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, 16).toString('latin1'));
  return m ? Number(m[1]) : null;
}

/**
 * One websocket frame as a client writes it (masked), with every field open to abuse: opcode, FIN and RSV
 * bits, and a length field that may lie about the payload.
 */
export function wsFrame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; rsv?: number; mask?: boolean; claimedLength?: number } = {}): Uint8Array {
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const len = opts.claimedLength ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    for (let shift = 56; shift >= 0; shift -= 8) head.push(Number((BigInt(len) >> BigInt(shift)) & 0xffn));
  }
  const key = [0x12, 0x34, 0x56, 0x78];
  if (mask) head.push(...key);
  const body = mask ? payload.map((b, i) => b ^ key[i & 3]) : payload;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
