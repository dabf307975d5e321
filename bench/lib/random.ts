// The seeded PRNG moved to src/tools/random.ts (the data generator uses it too); benchmarks and
// tests keep importing it from here.

export { mulberry32, randomInt } from '../../src/tools/random.js';
