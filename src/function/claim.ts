import type { PipelineConfig } from '../pipeline/config.ts';

/**
 * Which pipelines an object of a bucket belongs to: those whose landing is a gs:// folder holding
 * it. The deepest such landing wins (a landing inside another's folder owns its objects); pipelines
 * sharing that landing (a nested JSON document fanned out by json.path) all claim the object.
 */
export interface Claim {
  pipelines: PipelineConfig[];
  /** The landing location as configured (gs://bucket/folder). */
  landing: string;
  /** The object's key relative to the landing folder. */
  key: string;
}

export function claimObject(pipelines: PipelineConfig[], bucket: string, name: string): Claim | undefined {
  let best: Claim | undefined;
  let bestDepth = -1;
  for (const p of pipelines) {
    const m = /^gs:\/\/([^/]+)\/?(.*)$/i.exec(p.landing);
    if (!m || m[1] !== bucket) continue;
    const folder = m[2].replace(/^\/+|\/+$/g, '');
    if (folder !== '' && !name.startsWith(folder + '/')) continue;
    const key = folder === '' ? name : name.slice(folder.length + 1);
    if (key === '' || key.endsWith('/')) continue; // a "folder" placeholder object, not a file
    if (folder.length > bestDepth) {
      best = { pipelines: [p], landing: p.landing, key };
      bestDepth = folder.length;
    } else if (folder.length === bestDepth && best) {
      best.pipelines.push(p);
    }
  }
  return best;
}

/** The gs:// landings of a config, for the message about an object no pipeline claims. */
export function gsLandings(pipelines: PipelineConfig[]): string[] {
  return [...new Set(pipelines.map((p) => p.landing).filter((l) => /^gs:\/\//i.test(l)))];
}
