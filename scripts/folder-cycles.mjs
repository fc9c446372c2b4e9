#!/usr/bin/env node
// Part of `npm run lint`: fails when folders of src/ import each other in a cycle (STYLE.md 12).
//
// dependency-cruiser finds the imports (with the options in .dependency-cruiser.cjs); this script
// collapses every module to its top folder under src/ (src/factors/sms/x.ts counts as
// src/factors/; a root file such as src/deps.ts stands for itself) and fails on any strongly
// connected component of that graph, so a/x → b/y → a/z is a cycle even though no module is in
// one. dependency-cruiser's own `scope: "folder"` rules treat each nested folder as a node of its
// own and miss a/x → b/sub/y with b/z → a/w, hence this check.
//
// For each cycle it prints the folders and, for every arrow between them, the imports that make
// it: remove enough of those and the cycle is gone.
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src'];
const { ruleSet: _rules, validate: _validate, ...options } = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
const { output } = await cruise(roots, { ...options, validate: false });
if (typeof output === 'string') throw new Error('dependency-cruiser answered with text, not a cruise result');

/** src/factors/sms/login-sms.ts → src/factors/; src/deps.ts → src/deps.ts; outside src/ → null. */
function topFolder(path) {
  const match = /^(src\/[^/]+\/?)/.exec(path);
  return match ? match[1] : null;
}

/** folder → folder it imports → the module imports behind that arrow. */
const arrows = new Map();
for (const module of output.modules) {
  const from = topFolder(module.source);
  if (!from) continue;
  if (!arrows.has(from)) arrows.set(from, new Map());
  for (const dependency of module.dependencies) {
    const to = topFolder(dependency.resolved);
    if (!to || to === from) continue;
    const imports = arrows.get(from).get(to) ?? [];
    imports.push(`${module.source} → ${dependency.resolved}`);
    arrows.get(from).set(to, imports);
  }
}

// Tarjan's strongly connected components.
const index = new Map();
const lowLink = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function visit(node) {
  index.set(node, index.size);
  lowLink.set(node, index.get(node));
  stack.push(node);
  onStack.add(node);
  for (const next of arrows.get(node)?.keys() ?? []) {
    if (!index.has(next)) {
      visit(next);
      lowLink.set(node, Math.min(lowLink.get(node), lowLink.get(next)));
    } else if (onStack.has(next)) {
      lowLink.set(node, Math.min(lowLink.get(node), index.get(next)));
    }
  }
  if (lowLink.get(node) === index.get(node)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) components.push(component.sort());
  }
}
for (const node of [...arrows.keys()].sort()) if (!index.has(node)) visit(node);

if (components.length === 0) {
  console.log(`✔ no cycles between the folders of ${roots.join(', ')} (${arrows.size} folders and root files)`);
  process.exit(0);
}
for (const component of components) {
  console.log(`\n  error folder-cycle: ${component.join(', ')} import each other`);
  for (const from of component) {
    for (const [to, imports] of [...arrows.get(from)].sort(([a], [b]) => a.localeCompare(b))) {
      if (!component.includes(to)) continue;
      console.log(`    ${from} → ${to}`);
      for (const line of imports.sort()) console.log(`      ${line}`);
    }
  }
}
console.log(`\nx ${components.length} folder cycle${components.length === 1 ? '' : 's'} in ${roots.join(', ')}`);
process.exit(1);
