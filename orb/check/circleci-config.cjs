// Validates the chartship orb and configs that use it with CircleCI's own config parser
// (@circleci/circleci-config-parser, which checks each component against CircleCI's JSON
// schemas for config and builds it with the CircleCI Config SDK).
//
//   NODE_PATH=<dir with node_modules> node circleci-config.cjs orb.yml [config.yml ...]
//
// The orb is checked as the config it becomes in a pipeline: its executors, commands and
// jobs, with a workflow running each job with example values for its required parameters.
// Each example's usage in the orb, and each config file given, is then parsed with the orb
// imported under its alias (chartship), so an unknown job or a parameter the orb lacks fails.
'use strict';
const fs = require('fs');
const yaml = require('yaml');
const parser = require('@circleci/circleci-config-parser');

function fail(what, err) {
  console.error(`circleci-config: ${what}: ${String(err && err.message ? err.message : err).split('\n').slice(0, 6).join(' ')}`);
  process.exit(1);
}

const [orbFile, ...configs] = process.argv.slice(2);
if (!orbFile) fail('usage', 'circleci-config.cjs orb.yml [config.yml ...]');
function load(file) {
  try {
    return yaml.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(file, err);
  }
}
const orb = load(orbFile);
for (const key of Object.keys(orb)) {
  if (!['version', 'description', 'display', 'orbs', 'executors', 'commands', 'jobs', 'examples'].includes(key)) {
    fail(orbFile, `unknown top-level key ${key} in an orb`);
  }
}
if (orb.version !== 2.1) fail(orbFile, 'orbs need version: 2.1');

// Example values for a job's required parameters (no default).
function required(params) {
  const out = {};
  for (const [name, p] of Object.entries(params || {})) {
    if (p.default !== undefined) continue;
    out[name] = p.type === 'boolean' ? true : p.type === 'integer' ? 1 : p.type === 'enum' ? p.enum[0] : 'x';
  }
  return out;
}

const asConfig = {
  version: 2.1,
  executors: orb.executors,
  commands: orb.commands,
  jobs: orb.jobs,
  workflows: { orb: { jobs: Object.entries(orb.jobs).map(([name, job]) => ({ [name]: required(job.parameters) })) } },
};
try {
  parser.parseConfig(asConfig);
} catch (err) {
  fail(`${orbFile} (as a config)`, err);
}

const sdk = require('@circleci/circleci-config-sdk');
const component = sdk.mapping.ParameterizedComponent;

function manifest() {
  const list = (components, subtype) => Object.fromEntries(Object.entries(components || {}).map(
    ([name, c]) => [name, parser.parseParameterList(c.parameters || {}, subtype)]));
  return { jobs: list(orb.jobs, component.JOB), commands: list(orb.commands, component.COMMAND), executors: list(orb.executors, component.EXECUTOR) };
}

function checkUsage(what, config) {
  const alias = Object.entries(config.orbs || {}).find(([, ref]) => /^chartship\/chartship@/.test(String(ref)));
  if (!alias) fail(what, 'does not import chartship/chartship');
  // Every orb job used must exist and get only parameters it has.
  for (const [wname, wf] of Object.entries(config.workflows || {})) {
    for (const entry of wf.jobs || []) {
      const [name, args] = typeof entry === 'string' ? [entry, {}] : Object.entries(entry)[0];
      if (!name.startsWith(alias[0] + '/')) continue;
      const job = orb.jobs[name.slice(alias[0].length + 1)];
      if (!job) fail(what, `workflow ${wname}: the orb has no job ${name}`);
      const known = new Set([...Object.keys(job.parameters || {}), 'name', 'context', 'requires', 'filters', 'matrix', 'type', 'pre-steps', 'post-steps']);
      for (const k of Object.keys(args || {})) {
        if (!known.has(k)) fail(what, `workflow ${wname}: ${name} has no parameter ${k}`);
      }
      for (const k of Object.keys(required(job.parameters))) {
        if (!(k in (args || {}))) fail(what, `workflow ${wname}: ${name} needs parameter ${k}`);
      }
    }
  }
  try {
    // The parser (0.10.0-alpha.3) reads config.jobs unconditionally; a config that only
    // uses the orb's jobs has none.
    parser.parseConfig({ jobs: {}, ...config }, { [alias[0]]: manifest() });
  } catch (err) {
    fail(what, err);
  }
}

for (const [name, ex] of Object.entries(orb.examples || {})) {
  checkUsage(`${orbFile} example ${name}`, ex.usage);
}
for (const f of configs) {
  checkUsage(f, load(f));
}
console.log(`circleci-config: ${orbFile}: ${Object.keys(orb.commands || {}).length} commands, ${Object.keys(orb.jobs || {}).length} jobs, ${Object.keys(orb.examples || {}).length} examples and ${configs.length} configs valid`);
