/** An item that knows its own slot, so the heap can move or remove it in O(log n) without a search. */
export interface HeapItem {
  /** Position in the heap, or -1 when the item is in no heap. */
  heapIndex: number;
}

/**
 * A binary min-heap of items that carry their own index. The hot store keeps 100k+ live sessions in one: a
 * view moves its session in O(log n) and `claimExpired` pops only what it returns, never scanning the rest.
 */
export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  /** Items in the heap. */
  get size(): number {
    return this.#items.length;
  }

  /** The least item, left in place. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an item that is in no heap. */
  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Removes and returns the least item. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `item` if it is in this heap; a no-op otherwise. */
  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.#items[i] !== item) return;
    const last = this.#items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.update(last);
  }

  /** Restores the order after `item`'s key changed (either way). */
  update(item: T): void {
    if (!this.#up(item.heapIndex)) this.#down(item.heapIndex);
  }

  #up(i: number): boolean {
    const items = this.#items;
    const item = items[i]!;
    let moved = false;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.#less(item, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
      moved = true;
    }
    items[i] = item;
    item.heapIndex = i;
    return moved;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(items[right]!, items[left]!) ? right : left;
      const childItem = items[child]!;
      if (!this.#less(childItem, item)) break;
      items[i] = childItem;
      childItem.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
