// What npm shows of each published package beside its code: `repository`, `homepage` and `bugs` point at the
// repository we publish from, `files` ships the README, the LICENSE and the CHANGELOG.md that `changeset version`
// writes, and the README's links and images are absolute (a `../../docs/…` link is dead on npmjs.com). Reads the
// package.json and README.md files only: no build needed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib/packed.mjs';

const REPOSITORY = 'https://github.com/anon-analytics/anon';

const problems = [];
for (const dir of readdirSync(join(root, 'packages'))) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  if (pkg.private === true) continue;
  const check = (what, fn) => {
    try {
      fn();
    } catch (err) {
      problems.push(`${pkg.name}: ${what}: ${err.message.split('\n')[0]}`);
    }
  };
  check('repository', () =>
    assert.deepEqual(pkg.repository, {
      type: 'git',
      url: `git+${REPOSITORY}.git`,
      directory: `packages/${dir}`,
    }),
  );
  check('homepage', () => assert.equal(pkg.homepage, `${REPOSITORY}/tree/main/packages/${dir}#readme`));
  check('bugs', () => assert.equal(pkg.bugs, `${REPOSITORY}/issues`));
  for (const file of ['dist', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    check('files', () => assert.ok(pkg.files?.includes(file), `does not list ${file}`));
  }
  const readme = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
  // Markdown links and images, `[text](target)` and `![alt](target)`, outside code blocks.
  const prose = readme.replace(/```[\s\S]*?```/g, '');
  for (const [, target] of prose.matchAll(/\]\(([^)\s]+)[^)]*\)/g)) {
    check('README link', () =>
      assert.ok(/^(https:\/\/|#)/.test(target), `${target} is relative: it breaks on npmjs.com`),
    );
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('package metadata: repository, homepage, bugs, files and absolute README links in every package');
