// The EventStoreDB double's public surface for tests and the CLI.

export { startEsdbDouble, type EsdbDouble, type EsdbDoubleOptions } from './server.js';
export type { StoredEvent } from './state.js';
