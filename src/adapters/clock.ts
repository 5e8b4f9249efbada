import { randomUUID } from 'node:crypto';

/** Injected time and ids, so time travel, retention and retries are testable. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface IdSource {
  uuid(): string;
}

export const systemClock: Clock = { now: () => Date.now() };
export const randomIds: IdSource = { uuid: () => randomUUID() };

/** A clock tests can move by hand. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
