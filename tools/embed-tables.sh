#!/usr/bin/env bash
# Copies each sweep's collected Markdown tables into the results README, so that one page shows
# every table beside the paper's figures (issue 19). In the README, the lines between
#   <!-- tables: NAME -->   and   <!-- end tables -->
# are replaced by the tables of NAME/tables/results.md (the sweep directory beside the README, as
# `tca sweep collect NAME --plots` wrote them): each group's heading (one level down), task line
# and table. The legend and the list of runs not yet in the tables stay in that file, which the
# block links. Everything between the markers is generated: edit the tables by re-collecting.
#
# usage: tools/embed-tables.sh [--check] [README]      (README defaults to results/README.md)
#   --check  write nothing; exit 1 if a block differs from its tables (make test runs this)
set -euo pipefail
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi
readme=${1:-results/README.md}
if [[ "$readme" == -* || $# -gt 1 ]]; then
  echo "usage: tools/embed-tables.sh [--check] [README]" >&2
  exit 2
fi
[ -f "$readme" ] || { echo "embed-tables: error: $readme: no such file" >&2; exit 2; }
dir=$(dirname "$readme")

# The group tables of one results.md: from the first "### " heading up to the runs-not-in-the-tables
# list or the legend (lines starting with "_"), headings demoted, trailing blank lines dropped.
tables_of() {
  awk '/^### Runs not in the tables/ || /^_/ { exit }
       /^### / { p = 1; sub(/^### /, "#### ") }
       p { lines[++n] = $0 }
       END { while (n > 0 && lines[n] == "") n--; for (i = 1; i <= n; i++) print lines[i] }' "$1"
}

# The new text goes to a temp file beside the README (renamed over it: never a half-written
# README), or under $TMPDIR for --check, which writes nothing in the checkout.
if [ "$check" = 1 ]; then out=$(mktemp); else out=$(mktemp "$readme.XXXXXX"); fi
trap 'rm -f "$out"' EXIT
name=""
line_no=0
while IFS= read -r line || [ -n "$line" ]; do
  line_no=$((line_no + 1))
  if [ -n "$name" ]; then  # inside a block: its old lines are dropped, the new end is written
    [ "$line" = "<!-- end tables -->" ] && name=""
    continue
  fi
  printf '%s\n' "$line" >>"$out"
  if [[ "$line" =~ ^'<!-- tables: '([A-Za-z0-9_.-]+)' -->'$ ]]; then
    name=${BASH_REMATCH[1]}
    start=$line_no
    tables="$dir/$name/tables/results.md"
    [ -f "$tables" ] || {
      echo "embed-tables: error: $readme:$line_no: no $tables (run tca sweep collect $dir/$name --plots)" >&2
      exit 2
    }
    {
      echo
      tables_of "$tables"
      echo
      echo "The legend, and any runs not yet in these tables: [$name/tables/results.md]($name/tables/results.md)."
      echo
      echo "<!-- end tables -->"
    } >>"$out"
  fi
done <"$readme"
[ -z "$name" ] || {
  echo "embed-tables: error: $readme:$start: '<!-- tables: $name -->' has no '<!-- end tables -->' after it" >&2
  exit 2
}

if cmp -s "$out" "$readme"; then
  exit 0
elif [ "$check" = 1 ]; then
  echo "embed-tables: $readme: the tables between the markers differ from the collected ones: run tools/embed-tables.sh $readme" >&2
  exit 1
fi
chmod --reference="$readme" "$out"
mv "$out" "$readme"
trap - EXIT
echo "embed-tables: $readme updated"
