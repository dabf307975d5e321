// Waiting on a condition that depends on another component's timers (reconnects, health probes,
// a server closing a socket): polled, returning as soon as it holds, failing after a deadline.

export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
