/**
 * `work` over the items with at most `limit` running at once; the results in the items' order. On
 * a failure the work already started finishes first, then the first error is thrown. For per-file
 * I/O that is independent file by file (archive moves, arrival checks): a batch of small files
 * paid one round of syscalls, or of requests to a bucket, per file in turn.
 */
export async function inTurns<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await work(items[i]);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.error;
  return results;
}
