// The two parsers of src/cli/main.ts read the same declarations: yargs-parser for every ordinary
// invocation (fastParse), full yargs for help and usage errors (yargsCli). For each command, every
// flag in each of its forms (--flag value, --flag=value, -a value, booleans bare and =true/=false,
// "-" as a value, repeated), its positionals and its words must give the command the same options
// whichever parser reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands, fastParse, yargsCli } from '../../dist/cli/main.js';
import { globalOptions } from '../../dist/cli/common.js';

/** What a command is given, without yargs' own keys and unset values. */
function normalized(args) {
  return Object.fromEntries(Object.entries(args).filter(([k, v]) => k !== '_' && k !== '$0' && v !== undefined));
}

async function viaYargs(argv) {
  let got;
  await yargsCli(argv, (cmd, args) => {
    got = { cmd: cmd.name, args: normalized(args) };
  }).parseAsync();
  assert.ok(got, `yargs ran no command for ${JSON.stringify(argv)}`);
  return got;
}

/** A value of the option's type that is not its default. */
function valueOf(name, o, n = 1) {
  if (o.type === 'number') return String(2 + n);
  if (o.choices) return o.choices.find((c) => c !== o.default) ?? o.choices[0];
  return `/${name}/v${n}=x`;
}

/** Each flag of `options` in each of its forms, as argv fragments. */
function flagForms(options) {
  const forms = [];
  for (const [name, o] of Object.entries(options)) {
    const spellings = [`--${name}`, ...(o.alias ? [`-${o.alias}`] : [])];
    for (const flag of spellings) {
      if (o.type === 'boolean') {
        forms.push([flag], [`${flag}=true`], [`${flag}=false`]);
        continue;
      }
      const v1 = valueOf(name, o, 1);
      const v2 = valueOf(name, o, 2);
      forms.push([flag, v1], [`${flag}=${v1}`]);
      // repeated: an array's values add up, any other flag's last one wins
      forms.push(o.choices ? [flag, v1, flag, o.choices[0]] : [flag, v1, flag, v2]);
      if (o.type === 'array') forms.push([flag, v1, ...(o.alias ? [`--${name}=${v2}`] : [`${flag}=${v2}`])]);
      if (o.type === 'string' && !o.choices) forms.push([flag, '-']);
    }
  }
  // several short booleans in one word (-td)
  const shortBooleans = Object.values(options).filter((o) => o.type === 'boolean' && o.alias);
  if (shortBooleans.length > 1) forms.push([`-${shortBooleans.map((o) => o.alias).join('')}`]);
  return forms;
}

/** The positionals (all, then only the required ones) and, for a command that takes them, its words. */
function positionalForms(cmd) {
  const values = { id: 'c1', signal: 'KILL' };
  const all = cmd.positionals.map((p) => values[p.name] ?? p.name);
  const required = cmd.positionals.filter((p) => p.required).map((p) => values[p.name] ?? p.name);
  const forms = [all];
  if (required.length < all.length) forms.push(required);
  // its words reach it as they are: flags of its own (exec's -c, -e), numbers, "-", "--"
  if (cmd.rest) forms.push([...all, 'sh', '-c', 'echo 10 -e -', '--', '-t'], [...all, '--', '-o', 'pid', '10'], [...all, '10']);
  return forms;
}

function argvsOf(cmd) {
  const [positionals, ...otherPositionals] = positionalForms(cmd);
  const argvs = [[cmd.name, ...positionals], ...otherPositionals.map((p) => [cmd.name, ...p])];
  for (const flags of flagForms(cmd.options)) {
    argvs.push([cmd.name, ...flags, ...positionals]);
    // after the positionals a flag is still the command's, unless words follow (exec's, ps's)
    if (!cmd.rest) argvs.push([cmd.name, ...positionals, ...flags]);
  }
  return argvs;
}

/** The argvs the two parsers read differently, each with both readings: [] when they agree on all. */
async function disagreements(argvs) {
  const out = [];
  for (const argv of argvs) {
    const fast = fastParse(argv);
    if (!fast) {
      out.push(`${JSON.stringify(argv)}: fastParse leaves it to yargs`);
      continue;
    }
    const expected = { cmd: fast.cmd.name, args: normalized(fast.args) };
    const slow = await viaYargs(argv).catch((err) => `yargs: ${err.message}`);
    try {
      assert.deepEqual(slow, expected);
    } catch {
      out.push(`${JSON.stringify(argv)}: fastParse ${JSON.stringify(expected)}, yargs ${JSON.stringify(slow)}`);
    }
  }
  return out;
}

test('cli: fastParse and yargs give every command the same options for the same argv', async (t) => {
  for (const cmd of commands) {
    await t.test(cmd.name, async () => {
      assert.deepEqual(await disagreements(argvsOf(cmd)), []);
    });
  }
});

test('cli: the global flags, before the command and after it, read alike by both parsers', async () => {
  const argvs = [];
  for (const cmd of commands.filter((c) => c.name === 'state' || c.name === 'exec')) {
    const [positionals] = positionalForms(cmd);
    for (const flags of flagForms(globalOptions)) argvs.push([...flags, cmd.name, ...positionals], [cmd.name, ...flags, ...positionals]);
  }
  assert.deepEqual(await disagreements(argvs), []);
});
