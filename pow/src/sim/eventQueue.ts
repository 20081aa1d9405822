/** A binary min-heap of timed events; ties leave in insertion order so runs are reproducible. */
export class EventQueue<T> {
  private readonly heap: Array<{ time: number; order: number; event: T }> = [];
  private inserted = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: T): void {
    const heap = this.heap;
    heap.push({ time, order: this.inserted++, event });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  peekTime(): number {
    return this.heap.length > 0 ? this.heap[0].time : Infinity;
  }

  pop(): { time: number; event: T } | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && this.less(l, smallest)) smallest = l;
        if (r < heap.length && this.less(r, smallest)) smallest = r;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return { time: top.time, event: top.event };
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i];
    const b = this.heap[j];
    return a.time < b.time || (a.time === b.time && a.order < b.order);
  }
}
