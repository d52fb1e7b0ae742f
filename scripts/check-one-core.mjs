// One copy of @anon/core per module format: an AnonError thrown from a subpath entry (`@anon/core/memory`)
// must be an instance of the AnonError exported by the main entry, under `require` and under `import`.
// Runs against the built dist (self-reference through the package's own `exports`), so it needs `pnpm build`.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const corePackageJson = fileURLToPath(new URL('../packages/core/package.json', import.meta.url));
const require = createRequire(corePackageJson);
const { exports } = require('@anon/core/package.json');
/** The ESM file the package's `exports` maps a subpath to under `import`. */
const esm = (subpath) => new URL(exports[subpath].import.default, pathToFileURL(corePackageJson)).href;

/** Make the memory entry throw: an invalid option is an `invalid_config` AnonError. */
function errorFrom(memory) {
  try {
    memory.memoryStore({ ledgerSize: 0 });
  } catch (err) {
    return err;
  }
  throw new Error('memoryStore({ ledgerSize: 0 }) did not throw');
}

const formats = {
  require: { core: require('@anon/core'), memory: require('@anon/core/memory') },
  import: {
    core: await import(esm('.')),
    memory: await import(esm('./memory')),
  },
};

for (const [format, { core, memory }] of Object.entries(formats)) {
  const err = errorFrom(memory);
  assert.equal(err.code, 'invalid_config', `${format}: unexpected error ${err}`);
  assert.ok(
    err instanceof core.AnonError,
    `${format}: an AnonError from @anon/core/memory is not an instance of @anon/core's AnonError (two copies of core)`,
  );
  assert.ok(core.isAnonError(err, 'invalid_config'), `${format}: isAnonError rejects it`);
  console.log(`${format}: one copy of core — instanceof AnonError holds across entries`);
}
