#!/usr/bin/env bash
# Check what `pnpm build` produced, as npm would publish it; builds nothing. For every package: publint (strict:
# warnings fail) and @arethetypeswrong/cli on the packed tarball (every entry point under node10, node16 CJS and
# ESM, and bundler resolution). Then: repository/homepage/bugs, `files` and absolute README links in every
# package; one copy of @anon/core per module format; `npm i @anon/cli` stays small and
# names a missing driver; the root README's snippet type-checks and runs against the packed packages in ESM and
# CommonJS. The last two install from the npm registry: ANON_SKIP_INSTALL_CHECKS=1 skips them when offline.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
for dir in packages/*/; do
  dir=${dir%/}
  [ -f "$dir/package.json" ] || continue
  if [ "$(node -p "require('./$dir/package.json').private === true")" = true ]; then continue; fi
  printf '\n== %s\n' "$dir"
  if [ ! -d "$dir/dist" ]; then
    echo "$dir: no dist/ — run pnpm build first" >&2
    failed+=("$dir (not built)")
    continue
  fi
  pnpm --silent publint --strict "$dir" || failed+=("$dir (publint)")
  # An export that maps straight to a file (a browser script) is an asset, not a module with types.
  assets=$(node -p "Object.entries(require('./$dir/package.json').exports ?? {})
    .filter(([k, v]) => typeof v === 'string' && k !== './package.json').map(([k]) => k).join(' ')")
  # shellcheck disable=SC2086 # one word per entry point
  pnpm --silent attw --pack "$dir" --no-color ${assets:+--exclude-entrypoints $assets} || failed+=("$dir (attw)")
done

printf '\n== package metadata and README links\n'
node scripts/check-package-metadata.mjs || failed+=("package metadata")

printf '\n== one copy of core per format\n'
node scripts/check-one-core.mjs || failed+=("@anon/core (one copy per format)")

if [ "${ANON_SKIP_INSTALL_CHECKS:-}" != 1 ]; then
  printf '\n== npm i @anon/cli, without the optional drivers\n'
  node scripts/check-cli-install.mjs || failed+=("@anon/cli install")
  printf '\n== the README snippet against the packed packages\n'
  node scripts/check-readme.mjs || failed+=("README snippet")
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\npackaging check failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
printf '\npackaging check: publint and attw clean for every package; core, the CLI install and the README hold\n'
