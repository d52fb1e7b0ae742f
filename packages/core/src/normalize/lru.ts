/**
 * A bounded cache that evicts the least recently used entries, in the two-generation form (as `quick-lru`
 * does): reads hit a `Map` without reordering it, because deleting and re-inserting on every hit costs
 * microseconds in V8. New entries go to the young generation; when it is full it becomes the old one and the
 * previous old one is dropped; an old entry that is read is promoted. At most `max` entries are held (one
 * more for `max` = 1); a size below 1 caches nothing, so a misconfigured size costs speed, never memory.
 */
export class Lru<K, V> {
  readonly #generation: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  constructor(max: number) {
    const size = Number.isFinite(max) ? Math.max(0, Math.floor(max)) : 0;
    this.#generation = size === 0 ? 0 : Math.max(1, Math.floor(size / 2));
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#add(key, old);
    }
    return old;
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }

  set(key: K, value: V): void {
    if (this.#generation === 0) return;
    if (this.#young.has(key)) this.#young.set(key, value);
    else {
      this.#old.delete(key);
      this.#add(key, value);
    }
  }

  #add(key: K, value: V): void {
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
