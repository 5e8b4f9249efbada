import { ACTION_KEYS, type Action } from './actions.ts';
import { CorruptLogError } from '../errors.ts';

/**
 * Commit files are newline-delimited JSON, one action per line. A line that is not JSON, or that
 * holds no known action, makes the whole commit unreadable: we never guess at half a commit.
 */
export function parseCommit(text: string, ctx: { tablePath: string; version: number; file?: string }): Action[] {
  const actions: Action[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new CorruptLogError(
        ctx.tablePath,
        `commit ${ctx.version} (${ctx.file ?? 'log'}) line ${i + 1} is not valid JSON: ${(err as Error).message}. ` +
          'The log is damaged; restore the file from a backup or read an earlier version.',
        { cause: err, version: ctx.version },
      );
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CorruptLogError(ctx.tablePath, `commit ${ctx.version} line ${i + 1} is not a JSON object.`, {
        version: ctx.version,
      });
    }
    const action = parsed as Action;
    // Unknown action types are allowed by the protocol (forward compatibility): keep only known keys.
    if (ACTION_KEYS.some((k) => action[k] !== undefined && action[k] !== null)) actions.push(action);
  }
  return actions;
}

export function serializeActions(actions: Action[]): string {
  return actions.map((a) => JSON.stringify(a)).join('\n') + '\n';
}
