/**
 * kafkajs wraps errors in its retries (`originalError`, `cause`), and Node's own socket error sits at the
 * bottom, and an aggregate error (creating topics) holds one per item: what an error means is found by
 * walking down, breadth first, bounded against cycles.
 */
export interface KafkaJsErrorShape {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly retriable?: unknown;
  /** Set by kafkajs on connection errors, and by us on SASL errors (security.ts): `host:port`. */
  readonly broker?: unknown;
  readonly cause?: unknown;
  readonly originalError?: unknown;
  /** kafkajs's aggregate errors (topic creation) hold one error per topic. */
  readonly errors?: unknown;
}

export function* causeChain(error: unknown): Generator<KafkaJsErrorShape> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 20) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const shape = current as KafkaJsErrorShape;
    yield shape;
    queue.push(
      shape.cause,
      shape.originalError,
      ...(Array.isArray(shape.errors) ? (shape.errors as unknown[]) : []),
    );
  }
}
