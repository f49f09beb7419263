/**
 * The resident engine's entry (started detached by the door: `node dist/engine/main.js SOCKET`).
 * TSRUN_ENGINE_IDLE_MS sets how long it stays without a call (default 30 s).
 */
import { enterOwnCgroup } from './own-cgroup.js';
import { serveEngine } from './server.js';

const DEFAULT_IDLE_MS = 30_000;

const socketPath = process.argv[2];
if (!socketPath?.startsWith('/')) {
  process.stderr.write('usage: node dist/engine/main.js /absolute/engine.sock\n');
  process.exit(2);
}
const idleMs = Number(process.env.TSRUN_ENGINE_IDLE_MS) || DEFAULT_IDLE_MS;
enterOwnCgroup();
await serveEngine({ socketPath, idleMs });
