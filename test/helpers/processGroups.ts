/**
 * Process groups the way a terminal sees them: tests start a command in its own group (`spawn(..., { detached: true })`,
 * like a shell's foreground job), signal the whole group, and check that nothing of it is left.
 */

/** True while any process of the group led by `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** Waits until none of the groups has a process left (a stopping chain may take a few seconds to exit). */
export async function groupsEnd(pgids: number[], timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pgids.some(groupAlive)) await new Promise((r) => setTimeout(r, 100));
  return pgids.filter(groupAlive);
}

/** Ends whatever a failed test left behind, by process group. */
export function killGroups(pgids: number[]): void {
  for (const pgid of pgids) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
