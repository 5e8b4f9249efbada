/**
 * A string column decoded on demand. A checkpoint's `add.stats` is most of its bytes (JSON text
 * per file, ~430 bytes each: 4 MB for 10,000 files), yet opening a snapshot only needs the paths;
 * scans, data skipping and checkpoint writing read the stats later, some of them only. Each value
 * is kept as its place in the page and becomes a string the first time it is read.
 *
 * The field holding it is an own, enumerable accessor property (a getter over the value's place),
 * so everything that reads the object sees the string: `obj.stats`, spreads and Object.assign
 * (which copy it as a plain string), JSON.stringify, Object.keys/entries, structured clone and
 * deep equality. One getter/setter pair per column keeps every object of a row group on the same
 * hidden class; the object's value index lives in a WeakMap, not on the object (a hidden property
 * would be copied by spreads and seen by deep equality). Assigning the field turns it into a plain
 * data property holding the value assigned.
 */
type NodeBuffer = Buffer & { utf8Slice(start: number, end: number): string };

export class LazyStrings {
  /** Per page: its bytes, the index of its first value, each value's byte range there. */
  private readonly pages: { buf: NodeBuffer; first: number; starts: Int32Array; ends: Int32Array }[] = [];
  private count = 0;
  /** Values read so far, by index. */
  private readonly text: (string | undefined)[] = [];
  private readonly owners = new WeakMap<object, number>();
  private readonly descriptor: PropertyDescriptor;

  /** `name`: the field the values are stored as (attach). */
  constructor(private readonly name: string) {
    const self = this;
    this.descriptor = {
      enumerable: true,
      configurable: true,
      get(this: object): string | undefined {
        const i = self.owners.get(this);
        return i === undefined ? undefined : self.value(i);
      },
      set(this: object, v: unknown): void {
        // The assigned value replaces the lazy one as a plain field (any value, undefined
        // included: text[i] === undefined means "not read yet", so it cannot hold it).
        self.owners.delete(this);
        Object.defineProperty(this, self.name, { value: v, writable: true, enumerable: true, configurable: true });
      },
    };
  }

  /** How many values were added: they are indexes 0..length-1. */
  get length(): number {
    return this.count;
  }

  /** Adds the `n` PLAIN BYTE_ARRAY values of `buf[pos..end)`; returns false (nothing added) when they overrun it. */
  addPlain(buf: Uint8Array, pos: number, end: number, n: number): boolean {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    let p = pos;
    for (let i = 0; i < n; i++) {
      if (p + 4 > end) return false;
      const len = view.getUint32(p, true);
      p += 4;
      if (p + len > end) return false;
      starts[i] = p;
      p += len;
      ends[i] = p;
    }
    this.pages.push({ buf: Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as NodeBuffer, first: this.count, starts, ends });
    this.count += n;
    return true;
  }

  /** Value `i` as a string (UTF-8, as the eager decode gives it). */
  value(i: number): string {
    const t = this.text[i];
    if (t !== undefined) return t;
    let k = this.pages.length - 1;
    while (this.pages[k].first > i) k--;
    const page = this.pages[k];
    const s = page.buf.utf8Slice(page.starts[i - page.first], page.ends[i - page.first]);
    this.text[i] = s;
    return s;
  }

  /** Stores value `i` as the field of `obj`, decoded when first read. */
  attach(obj: object, i: number): void {
    this.owners.set(obj, i);
    Object.defineProperty(obj, this.name, this.descriptor);
  }
}
