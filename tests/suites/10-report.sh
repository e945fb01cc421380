#!/usr/bin/env bash
# The trainer's HTML report renders in a real browser: generate data, train, write the report, load
# it in headless Chromium and read back what the page's own check script measured after layout
# (how many charts exist, how many have a non-empty bounding box, markers per feature chart).
# A deliberately emptied chart must be caught, so the check is shown to be able to fail.
set -euo pipefail
# shellcheck source=tests/common.sh
source "$(dirname "$0")/../common.sh"
cd "$ROOT"

step "chromium"
ensure_apt chromium

step "trainer (release)"
build_bins
trainer=$(release_bin trainer)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

features=4
step "generate, train, report ($features features)"
"$trainer" generate --quiet --rows 5000 --features $features --anomalies 100 --seed 11 --timestamp \
  --out "$work/train.csv" --labels "$work/train-labels.csv"
"$trainer" generate --quiet --rows 5000 --features $features --anomalies 100 --seed 12 --timestamp \
  --out "$work/test.csv" --labels "$work/test-labels.csv"
"$trainer" train --quiet "$work/train.csv" --out "$work/model.isof" --seed 3
"$trainer" report --quiet --model "$work/model.isof" --data "$work/test.csv" \
  --labels "$work/test-labels.csv" --out "$work/report.html" --title "Suite report"

if grep -Eq '(src|href)="(https?:)?//' "$work/report.html"; then
  echo "FAIL: the report loads external resources" >&2
  exit 1
fi

# render PAGE: the DOM after load, as headless Chromium serialises it.
render() {
  local profile
  profile=$(mktemp -d -p "$work")
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --dump-dom "file://$1" 2>"$profile.log"
}

# attr DOM NAME: an attribute of the #render-check element.
attr() { grep -o '<p id="render-check"[^>]*>' "$1" | grep -o "$2=\"[0-9]*\"" | grep -o '[0-9]*' || true; }

step "headless Chromium: every chart drawn"
render "$work/report.html" >"$work/dom.html"
check=$(grep -o '<p id="render-check"[^<]*</p>' "$work/dom.html" || true)
echo "${check:-no render-check element}"
plots=$(attr "$work/dom.html" data-plots)
drawn=$(attr "$work/dom.html" data-drawn)
feature_plots=$(attr "$work/dom.html" data-features)
# histogram, ROC, the top anomalies' attributions, the row-level strip, then one per feature.
expected=$((features + 4))
fail=0
[ "$plots" = "$expected" ] || { echo "FAIL: $plots charts, expected $expected" >&2; fail=1; }
[ "$drawn" = "$expected" ] || { echo "FAIL: $drawn of $plots charts drawn" >&2; fail=1; }
[ "$feature_plots" = "$features" ] || { echo "FAIL: $feature_plots feature charts, expected $features" >&2; fail=1; }
for kind in histogram roc attribution strip; do
  grep -q "$kind:[1-9][0-9]*x[1-9][0-9]*:" <<<"$check" || { echo "FAIL: no drawn $kind chart" >&2; fail=1; }
done
# Each feature chart: true anomalies (circles) and flagged rows (polygons) are marked.
marked=$(grep -oE 'feature:[1-9][0-9]*x[1-9][0-9]*:circles=[1-9][0-9]*:polygons=[1-9][0-9]*' <<<"$check" | wc -l)
[ "$marked" = "$features" ] || { echo "FAIL: $marked of $features feature charts show both markers" >&2; fail=1; }
[ $fail -eq 0 ]

step "headless Chromium: an emptied chart is caught"
# Replace the drawing inside the first feature chart with an empty <svg>: the check must see it.
python3 - "$work/report.html" "$work/broken.html" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
broken = re.sub(r'(data-plot="feature"[^>]*>)<svg.*?</svg>', r'\1<svg width="960" height="260"></svg>',
                html, count=1, flags=re.S)
assert broken != html
open(sys.argv[2], "w").write(broken)
EOF
render "$work/broken.html" >"$work/broken-dom.html"
broken_drawn=$(attr "$work/broken-dom.html" data-drawn)
if [ "$broken_drawn" != "$((expected - 1))" ]; then
  echo "FAIL: the emptied chart went unnoticed (drawn=$broken_drawn, expected $((expected - 1)))" >&2
  exit 1
fi
echo "emptied chart detected: $broken_drawn of $expected drawn"
echo "report suite passed"
