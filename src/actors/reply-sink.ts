// How an actor hands back the outcome of one event: the caller owns the reply, the actor fills a slot.

export interface ReplySink {
  /** Sets the status line of event `slot`. Called exactly once per event handed to an actor. */
  settle(slot: number, status: string): void;
}
