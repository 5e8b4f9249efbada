/**
 * Buffered text output that respects back-pressure: `write` collects text, `flush` hands it to the
 * stream and waits for 'drain' when the stream is full, so streaming a large table through a slow
 * pipe keeps memory flat. A closed pipe (`lakelet read … | head`) surfaces as an EPIPE error.
 */
export class OutputSink {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly highWater = 1 << 16,
  ) {}

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
  }

  /** True when enough is buffered that the caller should `flush()` before producing more. */
  get full(): boolean {
    return this.size >= this.highWater;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (this.stream.write(text)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', onError);
        this.stream.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (err: Error) => done(err);
      const onClose = () => done(Object.assign(new Error('output closed'), { code: 'EPIPE' }));
      this.stream.on('drain', onDrain);
      this.stream.on('error', onError);
      this.stream.on('close', onClose);
    });
  }
}
