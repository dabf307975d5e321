// Robot names as the ingest has seen them, interned: a name is found in a frame's text by its
// characters, so an event of a known robot costs no string of its own and no name check, and every
// event of one robot routes with the same string (whose hash the engine keeps). Only a name never
// seen before is sliced out, checked (robotNameError) and added.

import { fnv1a } from './hash.js';
import { newParsedFields, parseFields, robotNameError } from './wire-format.js';

/** Slots at first; the table doubles while it is at most half full. */
const INITIAL_SLOTS = 1024;

export class RobotNames {
  private names: Array<string | undefined> = new Array<string | undefined>(INITIAL_SLOTS).fill(undefined);
  private hashes = new Int32Array(INITIAL_SLOTS);
  private count = 0;

  /**
   * @param maxNames past this many names the table stops growing: further new names are checked
   *   on every event instead (correct, only slower), so memory stays bounded whatever the senders do.
   */
  constructor(private readonly maxNames = 1 << 20) {}

  get size(): number {
    return this.count;
  }

  /** The known name spelled by `text[start, end)`, or undefined when it has not been added. */
  find(text: string, start: number, end: number): string | undefined {
    const hash = fnv1a(text, start, end);
    const mask = this.hashes.length - 1;
    const length = end - start;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const name = this.names[slot];
      if (name === undefined) return undefined;
      if (this.hashes[slot] === hash && name.length === length && text.startsWith(name, start)) return name;
    }
  }

  /** Adds a checked name not yet in the table. */
  add(name: string): void {
    if (this.count >= this.maxNames) return;
    if (2 * (this.count + 1) > this.hashes.length) this.grow();
    this.insert(name, fnv1a(name));
    this.count++;
  }

  private insert(name: string, hash: number): void {
    const mask = this.hashes.length - 1;
    let slot = hash & mask;
    while (this.names[slot] !== undefined) slot = (slot + 1) & mask;
    this.names[slot] = name;
    this.hashes[slot] = hash;
  }

  private grow(): void {
    const names = this.names;
    const hashes = this.hashes;
    this.names = new Array<string | undefined>(names.length * 2).fill(undefined);
    this.hashes = new Int32Array(names.length * 2);
    for (let slot = 0; slot < names.length; slot++) {
      const name = names[slot];
      if (name !== undefined) this.insert(name, hashes[slot]!);
    }
  }
}

/**
 * Reads event lines in place: the numbers through parseFields, the robot name through a RobotNames
 * table. One per ingest loop (it keeps the last line's fields).
 */
export class EventReader {
  readonly fields = newParsedFields();
  /** The last line's robot, once `read` has accepted it. */
  robot = '';
  private readonly names: RobotNames;

  constructor(maxNames?: number) {
    this.names = new RobotNames(maxNames);
  }

  /** Parses `text[start, end)`: null (fields and `robot` set) or the reason the line is rejected. */
  read(text: string, start: number, end: number): string | null {
    const fields = this.fields;
    const reason = parseFields(text, start, end, fields);
    if (reason !== null) return reason;
    let robot = this.names.find(text, fields.nameStart, fields.nameEnd);
    if (robot === undefined) {
      robot = text.slice(fields.nameStart, fields.nameEnd);
      const nameError = robotNameError(robot);
      if (nameError !== null) return nameError;
      this.names.add(robot);
    }
    this.robot = robot;
    return null;
  }
}
