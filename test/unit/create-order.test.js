// The create order is stated once, as the step list in src/protocol/protocol.ts's header; this
// walks addon/init/main.c the way the helper runs (stage 0's main, then the cloned process) and
// checks it calls the same steps in the same order, for create and for exec, and that every step
// steps.h declares is placed in that list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const read = (file) => readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8');

/** The step names of one stage label ("0"/"1" for create, "x" for exec) in the diagram. */
function diagramSteps(labels) {
  const steps = [];
  for (const line of read('src/protocol/protocol.ts').split('\n')) {
    const m = /^ \* {5}([01x]) {2}(\w+(?:\([A-Z_]+\))?)/.exec(line);
    if (m && labels.includes(m[1])) steps.push(m[2]);
  }
  return steps;
}

/** main.c's functions by name: a definition starts at column 0, its body ends at the next "}"
 *  there; noreturn ones are marked (nothing after a call of one runs). */
function functionBodies(source) {
  const bodies = new Map();
  const re = /^([^\s#/*][^\n;]*?)\b(\w+)\(([^)]*)\)\n\{\n([\s\S]*?)\n\}\n/gm;
  for (const m of source.matchAll(re)) bodies.set(m[2], { body: m[4], noreturn: m[1].includes('noreturn') });
  return bodies;
}

/** Plumbing of main.c that is no step of the order (messages, argument parsing). */
const plumbing = new Set(['send_u32', 'expect_frame', 'parse_sync_fd', 'msg_name', 'same_fifo', 'put_u32']);

/**
 * The steps a function runs, in order: calls of steps.h functions (with a TSRUN_* argument kept,
 * e.g. "run_hooks(CREATE_CONTAINER)"), and main.c's own functions, walked into when they run
 * steps and named when they do not. A statement under `if (plan.exec_mode)` runs only for exec,
 * one under its `else` only for create.
 */
function walk(name, bodies, stepNames, mode) {
  const out = [];
  let branch; // what the next statement is guarded by: 'exec', 'create' or undefined
  for (const raw of bodies.get(name).body.split('\n')) {
    const line = raw.trim();
    if (/^if \(plan(\.|->)exec_mode\)$/.test(line)) { branch = 'exec'; continue; }
    if (line === 'else' && branch === 'exec-done') { branch = 'create'; continue; }
    const skip = branch !== undefined && branch !== 'exec-done' && branch !== mode;
    if (branch === 'exec') branch = 'exec-done';
    else if (branch === 'create' || branch === 'exec-done') branch = undefined;
    if (skip) continue;
    for (const call of line.matchAll(/\b(tsrun_)?(\w+)\(([^()]*(?:\([^()]*\))?[^()]*)\)/g)) {
      const [, prefix, fn, args] = call;
      const constant = /\bTSRUN_[A-Z]+_([A-Z_]+)\b/.exec(args)?.[1];
      if (prefix && stepNames.has(fn)) {
        out.push(constant ? `${fn}(${constant})` : fn);
        if (fn === 'exec') return out; // execve: nothing after it runs
      } else if (!prefix && bodies.has(fn) && fn !== name && !plumbing.has(fn)) {
        const inner = walk(fn, bodies, stepNames, mode);
        out.push(...(inner.length ? inner : [fn]));
        if (bodies.get(fn).noreturn) return out;
      }
    }
  }
  return out;
}

const stepsHeader = read('addon/init/steps.h');
const stepNames = new Set([...stepsHeader.matchAll(/\btsrun_(\w+)\(/g)].map((m) => m[1]));
const bodies = functionBodies(read('addon/init/main.c'));

test('create order: main.c runs the steps the protocol.ts diagram lists, in its order', () => {
  assert.ok(bodies.has('main') && bodies.has('run_init'), 'main.c has main and run_init');
  assert.deepEqual(walk('main', bodies, stepNames, 'create'), diagramSteps(['0', '1']));
});

test('exec order: main.c runs the steps the protocol.ts diagram lists for exec, in its order', () => {
  assert.deepEqual(walk('main', bodies, stepNames, 'exec'), diagramSteps(['x']));
});

test('create order: every step steps.h declares has its place in the diagram', () => {
  const placed = new Set([...diagramSteps(['0', '1', 'x'])].map((s) => s.replace(/\(.*/, '')));
  // Called by other steps, not by main.c: no place of their own in the order.
  const inner = new Set(['bind_onto_file', 'bind_console']);
  const missing = [...stepNames].filter((s) => !placed.has(s) && !inner.has(s));
  assert.deepEqual(missing, []);
});

test('create order: the walk sees what main.c guards (a check of the checker)', () => {
  const fake = functionBodies(
    'int main(void)\n{\n  tsrun_a(&plan);\n  if (plan.exec_mode)\n    tsrun_b(&plan);\n  else\n    helper(&plan);\n  tsrun_c(&plan, TSRUN_HOOK_START_CONTAINER);\n' +
      '  if (plan.exec_mode)\n    gone(&plan);\n  tsrun_d(&plan);\n}\n' +
      'static void helper(struct x *plan)\n{\n  if (plan->exec_mode)\n    tsrun_a(plan);\n  tsrun_d(plan);\n}\n' +
      '__attribute__((noreturn)) static void gone(struct x *plan)\n{\n  tsrun_b(plan);\n}\n',
  );
  const names = new Set(['a', 'b', 'c', 'd']);
  assert.deepEqual(walk('main', fake, names, 'create'), ['a', 'd', 'c(START_CONTAINER)', 'd']);
  assert.deepEqual(walk('main', fake, names, 'exec'), ['a', 'b', 'c(START_CONTAINER)', 'b']);
});
