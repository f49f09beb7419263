/** What every command receives from the global flags (runc's names). */
export interface GlobalArgs {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
}

/** Commands return their exit status; only main.ts prints errors and exits. */
export type Outcome = { exitCode: number };

export function setExit(code: number): void {
  process.exitCode = code;
}
