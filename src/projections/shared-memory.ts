// The shared memory projections keep their events in, and a numeric id for each piece of it, so a
// checkpoint snapshot can say where a block lies with numbers (robot-projection.ts,
// checkpoint/shared-snapshot.ts) instead of making a view per block.
//
// Blocks are carved out of large slabs, never freed one by one: a slab is memory for as long as any
// block in it is referenced (a rebuild replacing the projections drops theirs). Memory made
// elsewhere (a rebuild worker's arrays, a checkpoint read from disk) is registered as it is adopted.
// The registry holds memory weakly: it never keeps a slab alive.

/** Bytes per slab (16 MiB: sixteen of the largest blocks). */
export const SLAB_BYTES = 16 << 20;

const byId = new Map<number, WeakRef<SharedArrayBuffer>>();
const ids = new WeakMap<SharedArrayBuffer, number>();
let nextId = 0;
let slab: SharedArrayBuffer | undefined;
let slabId = -1;
let slabUsed = 0;

/** The memory's id, registering it on first sight. */
export function memoryId(memory: SharedArrayBuffer): number {
  let id = ids.get(memory);
  if (id === undefined) {
    id = nextId++;
    ids.set(memory, id);
    byId.set(id, new WeakRef(memory));
  }
  return id;
}

/** `bytes` (a multiple of 8, at most SLAB_BYTES) of zeroed shared memory from the current slab, or a new one. */
export function carve(bytes: number): { readonly memory: SharedArrayBuffer; readonly id: number; readonly offset: number } {
  if (slab === undefined || slabUsed + bytes > SLAB_BYTES) {
    slab = new SharedArrayBuffer(SLAB_BYTES);
    slabId = memoryId(slab);
    slabUsed = 0;
  }
  const offset = slabUsed;
  slabUsed += bytes;
  return { memory: slab, id: slabId, offset };
}

/** Every registered memory still alive, with its id; entries of memory collected since are dropped. */
export function liveMemory(): { readonly ids: number[]; readonly memory: SharedArrayBuffer[] } {
  const live: number[] = [];
  const memory: SharedArrayBuffer[] = [];
  for (const [id, ref] of byId) {
    const buffer = ref.deref();
    if (buffer === undefined) {
      byId.delete(id);
      continue;
    }
    live.push(id);
    memory.push(buffer);
  }
  return { ids: live, memory };
}
