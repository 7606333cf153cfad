/**
 * The supervisor's children in start order (issue 15). Every operation the
 * supervisor makes per child is O(1): add at the end, find by id, remove,
 * and walk "this child and every one started after it" (`rest_for_one`)
 * without first scanning for its place. An array cost O(n) per `find`,
 * `indexOf` and `splice`, so starting or stopping n children was O(n²) in
 * the supervisor's own bookkeeping, besides XState's.
 *
 * A doubly linked list indexed by a Map. A restart keeps the child's place:
 * the spec stays, only its actor changes.
 */
interface Node<T> {
  readonly item: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
}

export class ChildList<T extends { readonly id: string }> implements Iterable<T> {
  readonly #nodes = new Map<string, Node<T>>();
  #head: Node<T> | undefined;
  #tail: Node<T> | undefined;

  get size(): number {
    return this.#nodes.size;
  }

  get(id: string): T | undefined {
    return this.#nodes.get(id)?.item;
  }

  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  /** Add `item` as the last started. Throws if its id is taken: the caller checks duplicates first. */
  push(item: T): void {
    if (this.#nodes.has(item.id)) throw new Error(`child "${item.id}" is already listed`);
    const node: Node<T> = { item, prev: this.#tail, next: undefined };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#nodes.set(item.id, node);
  }

  /** Remove a child; false if it was not listed. */
  delete(id: string): boolean {
    const node = this.#nodes.get(id);
    if (!node) return false;
    this.#nodes.delete(id);
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    // `next` is kept: a walk standing on this node goes on to what followed it.
    node.prev = undefined;
    return true;
  }

  /** In start order. Children removed during the walk are skipped; children added during it may be. */
  *[Symbol.iterator](): Iterator<T> {
    for (let node = this.#head; node; node = node.next) {
      if (this.#nodes.get(node.item.id) === node) yield node.item;
    }
  }

  /** The child `id` and every child started after it, in start order; [] if `id` is not listed. */
  from(id: string): T[] {
    const out: T[] = [];
    for (let node = this.#nodes.get(id); node; node = node.next) out.push(node.item);
    return out;
  }

  /** Every child, last started first (the order of a shutdown). */
  reversed(): T[] {
    const out: T[] = [];
    for (let node = this.#tail; node; node = node.prev) out.push(node.item);
    return out;
  }

  /** As an array in start order, for inspectors that serialize a snapshot's context. */
  toJSON(): T[] {
    return [...this];
  }
}
