#!/usr/bin/env bash
# Fails when a .snap file in the tree was not asserted by the test run that wrote the references file ($1).
set -euo pipefail
refs=$1
unreferenced=0
while IFS= read -r snap; do
  if ! grep -qxF "$(realpath "$snap")" <(xargs -r -n1 realpath <"$refs" 2>/dev/null); then
    echo "unreferenced snapshot: $snap (delete it, or restore the test that asserts it)" >&2
    unreferenced=1
  fi
done < <(find tests -name '*.snap' -not -path '*/target/*')
[ "$unreferenced" = 0 ] && echo "all $(find tests -name '*.snap' | wc -l) snapshots referenced"
exit "$unreferenced"
