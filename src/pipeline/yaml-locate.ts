import { isMap, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { TextPosition } from './errors.ts';

/**
 * Finds where a key path (as zod reports it: ['pipelines', 'orders', 'key', 0]) sits in a parsed
 * YAML document. Points at the deepest node that exists: a missing key is reported at its parent
 * map, a wrong value at the value itself.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[], options: { atKey?: boolean } = {}): TextPosition | undefined {
  let node: unknown = doc.contents;
  let best: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (!pair) break;
      // A key with no value: point at the key.
      const last = segment === path[path.length - 1];
      best = last && options.atKey ? (pair.key as Node) : ((pair.value as Node | null) ?? (pair.key as Node));
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      best = item;
      node = item;
    } else {
      break;
    }
  }
  const offset = best?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** `pipelines.orders.key[0]`, for messages. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

export { LineCounter };
