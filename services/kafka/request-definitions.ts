/**
 * Replacing part of a kafkajs request definition. kafkajs looks its request definitions up by property on one
 * shared object at every request (`requests.<Api>.protocol({ version })` in its broker), so replacing that
 * property takes effect whenever it happens, whatever loaded kafkajs first; replacing module files in
 * `require.cache` would only work before kafkajs's modules load, which import order cannot promise.
 */
import { createRequire } from 'node:module';

/** What a definition's `protocol` answers for a version: a builder of one request and its response parser. */
type Build<Args, Built> = (args: Args) => Built;

interface Definition<Args, Built> {
  protocol: (selected: { version: number }) => Build<Args, Built>;
  [key: symbol]: true | undefined;
}

const require = createRequire(import.meta.url);

/**
 * Wraps the builders of the definition in kafkajs module `path` (for example
 * 'kafkajs/src/protocol/requests/fetch/index.js'): `wrap` gets kafkajs's builder of each version and returns the
 * one to use. Idempotent per `marker`: the first call replaces it for the whole process.
 */
export function wrapRequestDefinition<Args, Built>(
  path: string,
  marker: symbol,
  wrap: (build: Build<Args, Built>, version: number) => Build<Args, Built>,
): void {
  const definition = require(path) as Definition<Args, Built>;
  if (definition[marker] === true) return;
  const original = definition.protocol;
  definition.protocol = (selected) => wrap(original(selected), selected.version);
  definition[marker] = true;
}
