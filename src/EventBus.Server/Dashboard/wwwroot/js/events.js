// The events this tab has seen, newest last, bounded: a firehose keeps memory flat. Views subscribe to new batches.
export class EventStore {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = [];
    this.received = 0;
    this.listeners = new Set();
  }

  add(events) {
    if (!events.length) return;
    this.received += events.length;
    this.items.push(...events);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    for (const listener of this.listeners) listener(events);
  }

  /** Calls listener(batch) for every new batch; returns the unsubscribe function. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
