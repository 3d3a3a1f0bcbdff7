/** Helpers for config objects: every layer keeps its defaults in one place and merges overrides with these. */

/** A copy of `o` without undefined values, so they do not override defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `defaults` with the defined values of `overrides` applied. */
export function withDefaults<T extends object>(defaults: Readonly<T>, overrides: Partial<T> = {}): T {
  return { ...defaults, ...stripUndefined(overrides) } as T;
}
