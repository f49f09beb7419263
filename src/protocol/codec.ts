/**
 * Byte-level encoding of the protocol in protocol.ts: frames, records and their packed fields.
 * Pure functions and a writer class, no I/O (channel.ts does the I/O).
 */
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, RECORD_HEADER_BYTES, type MsgType } from './protocol.js';
import { records, type FieldKind, type FlagRecord, type RecordDecl, type RecordName, type RecordValue } from './records.js';

/** Packs fields one after another (the record values of records.ts, and the helper's messages). */
export class FieldWriter {
  private chunks: Buffer[] = [];

  u32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(value >>> 0);
    this.chunks.push(b);
    return this;
  }

  i32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32LE(value | 0);
    this.chunks.push(b);
    return this;
  }

  u64(value: bigint | number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)));
    this.chunks.push(b);
    return this;
  }

  str(value: string): this {
    if (value.includes('\0')) throw new RangeError(`string contains a NUL byte: ${JSON.stringify(value)}`);
    this.chunks.push(Buffer.from(value + '\0', 'utf8'));
    return this;
  }

  /** A u32 count, then each value written by `write` (strs, u32s, u64s). */
  list<T>(values: readonly T[], write: (v: T) => unknown): this {
    this.u32(values.length);
    for (const v of values) write(v);
    return this;
  }

  strs(values: readonly string[]): this {
    return this.list(values, (v) => this.str(v));
  }

  /** One field of a declared kind (records.ts); pad32 writes 0 whatever it is given. */
  field(kind: FieldKind, value: unknown): this {
    switch (kind) {
      case 'u32': return this.u32(value as number);
      case 'i32': return this.i32(value as number);
      case 'u64': return this.u64(value as bigint | number);
      case 'pad32': return this.u32(0);
      case 'str': return this.str(value as string);
      case 'strs': return this.strs(value as readonly string[]);
      case 'u32s': return this.list(value as readonly number[], (v) => this.u32(v));
      case 'u64s': return this.list(value as readonly (bigint | number)[], (v) => this.u64(v));
    }
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A record list (the payload of Plan and Continue), each record laid out as records.ts declares. */
export class RecordWriter {
  private chunks: Buffer[] = [];

  /** `declarations`: records.ts's table; a test passes a changed copy. */
  constructor(private readonly declarations: Record<string, RecordDecl> = records) {}

  add(name: FlagRecord): this;
  add<N extends RecordName>(name: N, value: RecordValue<N>): this;
  add(name: RecordName, value: Record<string, unknown> = {}): this {
    const decl = this.declarations[name];
    if (decl === undefined) throw new TypeError(`no record ${name}`);
    const w = new FieldWriter();
    for (const field of decl.fields) {
      if (field.kind !== 'pad32' && value[field.name] === undefined) {
        throw new TypeError(`record ${name}: field ${field.name} is missing`);
      }
      w.field(field.kind, value[field.name]);
    }
    return this.raw(decl.tag, w.bytes());
  }

  /** A record with a value packed by hand (tests of the decoder's checks use it). */
  raw(tag: number, value: Buffer): this {
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    header.writeUInt16LE(tag, 0);
    header.writeUInt32LE(value.length, 4);
    this.chunks.push(header, value);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export function encodeFrame(type: MsgType, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME_BYTES) {
    throw new RangeError(`frame of ${payload.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte cap`);
  }
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt16LE(type, 4);
  return Buffer.concat([header, payload]);
}

export interface Frame {
  type: number;
  payload: Buffer;
}

/** Splits a byte stream into frames; keeps the incomplete tail for the next call. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(data: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const frames: Frame[] = [];
    while (this.pending.length >= FRAME_HEADER_BYTES) {
      const length = this.pending.readUInt32LE(0);
      if (length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${length} bytes exceeds the cap`);
      if (this.pending.length < FRAME_HEADER_BYTES + length) break;
      frames.push({
        type: this.pending.readUInt16LE(4),
        payload: this.pending.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length),
      });
      this.pending = this.pending.subarray(FRAME_HEADER_BYTES + length);
    }
    return frames;
  }

  get hasPartial(): boolean {
    return this.pending.length > 0;
  }
}

/** Reads packed fields back (used for the helper's messages and by tests). */
export class FieldReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }

  str(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new RangeError('string field without its NUL terminator');
    const v = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return v;
  }

  /** A u32 count, then that many values read by `read` (strs, u32s, u64s). */
  list<T>(read: () => T): T[] {
    const n = this.u32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read());
    return out;
  }

  strs(): string[] {
    return this.list(() => this.str());
  }

  field(kind: FieldKind): unknown {
    switch (kind) {
      case 'pad32':
      case 'u32': return this.u32();
      case 'i32': return this.i32();
      case 'u64': return this.u64();
      case 'str': return this.str();
      case 'strs': return this.strs();
      case 'u32s': return this.list(() => this.u32());
      case 'u64s': return this.list(() => this.u64());
    }
  }

  get done(): boolean {
    return this.offset === this.buf.length;
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new RangeError('field runs past the end of its payload');
  }
}

/** Splits a record list into (tag, value) pairs; used by tests to inspect a plan. */
export function readRecords(payload: Buffer): { tag: number; value: Buffer }[] {
  const out: { tag: number; value: Buffer }[] = [];
  let off = 0;
  while (off < payload.length) {
    if (off + RECORD_HEADER_BYTES > payload.length) throw new RangeError('truncated record header');
    const tag = payload.readUInt16LE(off);
    const len = payload.readUInt32LE(off + 4);
    const start = off + RECORD_HEADER_BYTES;
    if (start + len > payload.length) throw new RangeError(`record ${tag} runs past the payload`);
    out.push({ tag, value: payload.subarray(start, start + len) });
    off = start + len;
  }
  return out;
}

/** A record's fields read back by its declaration (u64 fields as bigint); for tests and tools. */
export function decodeRecord(
  tag: number,
  value: Buffer,
  declarations: Record<string, RecordDecl> = records,
): { name: string; fields: Record<string, unknown> } {
  const name = Object.keys(declarations).find((n) => declarations[n].tag === tag);
  if (name === undefined) throw new RangeError(`unknown record tag ${tag}`);
  const r = new FieldReader(value);
  const fields: Record<string, unknown> = {};
  for (const field of declarations[name].fields) {
    const v = r.field(field.kind);
    if (field.kind !== 'pad32') fields[field.name] = v;
  }
  if (!r.done) throw new RangeError(`record ${name}: trailing bytes`);
  return { name, fields };
}
