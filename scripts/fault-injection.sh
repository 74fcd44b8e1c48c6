#!/usr/bin/env bash
# Fault injection: treats goodhart as a user and a cluster would (kills at
# random points, two writers at once, a changed scenario, mixed or damaged
# part files, a full disk) and checks that every output folder ends up
# either right or refused with a message, never silently wrong.
#
#   scripts/fault-injection.sh [ROUNDS [SEED]]
#
# ROUNDS (default 10): kills per signal and command, and pairs of writers.
# SEED (default: random, printed) seeds the delays, so that a run's delays
# can be replayed (what the process is doing at a delay still varies with
# the machine's load). Takes about 75 s on 2 cores. Runs from the
# repository root, builds target/release/goodhart first, works in a
# temporary folder removed on exit. Prints one PASS, FAIL or SKIP line per
# case (details indented under it) and exits 1 if any case fails. The full
# disk cases mount small tmpfs folders and need root; elsewhere they SKIP.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
seed=${2:-$RANDOM}
[[ $rounds =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || {
  echo "usage: scripts/fault-injection.sh [ROUNDS [SEED]]" >&2
  exit 2
}
RANDOM=$seed
started=$SECONDS
echo "fault injection: $rounds rounds per signal, seed $seed (repeat: scripts/fault-injection.sh $rounds $seed)"
cargo build --release --quiet
g="$PWD/target/release/goodhart"
scenario="$PWD/examples/scenarios/sweep-small.toml"
# Replications per sweep task: enough for the sweep to run about 0.6 s,
# so that kills land inside tasks, between them and in the final writes.
reps=${FAULT_SWEEP_REPLICATIONS:-150}
tmp=$(mktemp -d)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

failed=0
problems=()
notes=()
# What went wrong in a case (it fails), and what is worth seeing.
# (Paths are shown relative to the temporary folder.)
problem() {
  local m="$*"
  problems+=("${m//$tmp\//}")
}
note() {
  local m="$*"
  notes+=("${m//$tmp\//}")
}
# Ends a case: PASS or FAIL and its time, then its problems (marked !)
# and notes.
case_start=$SECONDS
verdict() {
  local took="($((SECONDS - case_start)) s)"
  case_start=$SECONDS
  if [ ${#problems[@]} = 0 ]; then
    echo "PASS  $* $took"
  else
    echo "FAIL  $* $took"
    printf '      ! %s\n' "${problems[@]}"
    failed=$((failed + 1))
  fi
  [ ${#notes[@]} = 0 ] || printf '        %s\n' "${notes[@]}"
  problems=()
  notes=()
}

# Hidden temporary files of goodhart (`.<name>.goodhart-tmp-<pid>`, see
# src/cli/files.rs) anywhere under a folder.
temporaries() { find "$1" -name '.*.goodhart-tmp-*' 2> /dev/null | tr '\n' ' '; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Runs a command in the background, sends it signal SIG after MS
# milliseconds and waits; sets `code` to its exit status. SIGINT is
# restored to its default, since bash starts background commands with it
# ignored.
interrupt() {
  local sig=$1 ms=$2
  shift 2
  env --default-signal=INT "$@" > "$tmp/out.txt" 2> "$tmp/err.txt" &
  local pid=$!
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
  kill -s "$sig" "$pid" 2> /dev/null || true
  code=0
  wait "$pid" 2> /dev/null || code=$?
}
# Whether exit status `code` is what signal SIG (or finishing first) gives.
expected_code() {
  case "$1:$code" in
    *:0 | KILL:137 | INT:130 | TERM:130 | TERM:143) return 0 ;;
    *) return 1 ;;
  esac
}
# Same bytes in the files NAMES of folders A and B (absent in both is same).
same_files() {
  local a=$1 b=$2 f
  shift 2
  for f in "$@"; do
    if [ -e "$a/$f" ] || [ -e "$b/$f" ]; then cmp -s "$a/$f" "$b/$f" || return 1; fi
  done
}

sweep_cmd=("$g" sweep "$scenario" --replications "$reps" --quiet)
run_cmd=("$g" run story --replications 4 --periods 20 --quiet)
sweep_outputs=(sweep.csv robustness.csv report.html charts/robustness.svg charts/robustness.png)

# References: one uninterrupted sweep, and two runs (seed 7, the "older
# run" a folder holds, and the default seed, the run under test), each
# made in the folder the tests then use (the report records the command,
# --out included) and moved aside. Kills come at up to 1.2 times the
# longest of three uninterrupted runs, so that some land in the last
# writes and a few after the end.
longest() {
  local t0 ms max=0
  for _ in 1 2 3; do
    rm -rf "$tmp/timing"
    t0=$(now_ms)
    "$@" --out "$tmp/timing"
    ms=$(($(now_ms) - t0))
    max=$((ms > max ? ms : max))
  done
  rm -rf "$tmp/timing"
  echo "$max"
}
"${sweep_cmd[@]}" --out "$tmp/ref-sweep"
sweep_ms=$(longest "${sweep_cmd[@]}")
"${run_cmd[@]}" --seed 7 --out "$tmp/run"
mv "$tmp/run" "$tmp/ref-old"
"${run_cmd[@]}" --out "$tmp/run"
mv "$tmp/run" "$tmp/ref-run"
run_ms=$(longest "${run_cmd[@]}")
echo "uninterrupted: sweep ${sweep_ms} ms (sweep-small, $reps replications), run ${run_ms} ms (story, 4 replications, 20 periods)"
case_start=$SECONDS
run_outputs=()
while IFS= read -r f; do run_outputs+=("$f"); done < <(cd "$tmp/ref-run" && find . -type f ! -name run.json | sed 's|^\./||' | sort)
# The digests run.json lists, without its timings.
listed() { sed -n '/"files": {/,/}/p' "$1/run.json" 2> /dev/null; }
# Which reference a file of folder D is: new, old, absent or neither.
which_run() {
  local d=$1 f=$2
  if [ ! -e "$d/$f" ]; then
    echo absent
  elif cmp -s "$d/$f" "$tmp/ref-run/$f"; then
    echo new
  elif cmp -s "$d/$f" "$tmp/ref-old/$f"; then
    echo old
  else echo neither; fi
}
which_manifest() {
  local d=$1
  if [ ! -e "$d/run.json" ]; then
    echo absent
  elif [ "$(listed "$d")" = "$(listed "$tmp/ref-run")" ]; then
    echo new
  elif [ "$(listed "$d")" = "$(listed "$tmp/ref-old")" ]; then
    echo old
  else echo neither; fi
}

# 1. Kills at random points, then the same command again.
for sig in KILL INT TERM; do
  interrupted=0
  for r in $(seq "$rounds"); do
    d="$tmp/sweep"
    rm -rf "$d"
    ms=$((RANDOM % (sweep_ms * 6 / 5 + 1)))
    interrupt "$sig" "$ms" "${sweep_cmd[@]}" --out "$d"
    [ "$code" = 0 ] || interrupted=$((interrupted + 1))
    expected_code "$sig" || problem "round $r (${ms} ms): exit $code: $(head -c 300 "$tmp/err.txt")"
    if [ "$sig" != KILL ] && [ -n "$(temporaries "$d")" ]; then
      problem "round $r (${ms} ms): temporary files left after SIG$sig: $(temporaries "$d")"
    fi
    if ! "${sweep_cmd[@]}" --out "$d" 2> "$tmp/err.txt"; then
      problem "round $r (${ms} ms): the resumed sweep failed: $(head -c 300 "$tmp/err.txt")"
    elif ! same_files "$d" "$tmp/ref-sweep" "${sweep_outputs[@]}"; then
      problem "round $r (${ms} ms): resumed outputs differ from the uninterrupted sweep"
    fi
    if [ -n "$(temporaries "$d")" ]; then
      [ "$sig" = KILL ] || problem "round $r: temporary files left after the resumed sweep: $(temporaries "$d")"
      [ "$sig" != KILL ] || note "round $r (${ms} ms): after SIGKILL and a completed resume, left (shards share the folder; a merge removes them): $(temporaries "$d")"
    fi
  done
  verdict "sweep killed with SIG$sig at random points, resumed: $rounds rounds ($interrupted interrupted), sweep.csv, robustness.csv and the report equal the uninterrupted sweep"
done

for sig in KILL INT TERM; do
  interrupted=0
  mixed=0
  refused=0
  stale=0
  for r in $(seq "$rounds"); do
    d="$tmp/run"
    rm -rf "$d" "$tmp/report"
    cp -a "$tmp/ref-old" "$d"
    ms=$((RANDOM % (run_ms * 6 / 5 + 1)))
    interrupt "$sig" "$ms" "${run_cmd[@]}" --out "$d"
    [ "$code" = 0 ] || interrupted=$((interrupted + 1))
    expected_code "$sig" || problem "round $r (${ms} ms): exit $code: $(head -c 300 "$tmp/err.txt")"
    if [ "$sig" != KILL ] && [ -n "$(temporaries "$d")" ]; then
      problem "round $r (${ms} ms): temporary files left after SIG$sig: $(temporaries "$d")"
    fi
    # The folder as the interruption left it: report.html belongs to the
    # run run.json describes (a run writes run.json last: without it, to
    # the run of every data file), and `goodhart report` either rebuilds
    # that run's report or refuses with a message.
    manifest=$(which_manifest "$d")
    report=$(which_run "$d" report.html)
    kinds=$(for f in "${run_outputs[@]}"; do case "$f" in report.html | charts/*) ;; *) which_run "$d" "$f" ;; esac done | sort -u | tr '\n' ' ')
    if [ "$report" != absent ] && [ "$report" != "$manifest" ] && { [ "$manifest" != absent ] || [ "$kinds" != "$report " ]; }; then
      problem "round $r (${ms} ms): report.html is the $report run's, run.json the $manifest run's, the data files [$kinds]"
    fi
    charts=$(for f in "${run_outputs[@]}"; do case "$f" in charts/*) which_run "$d" "$f" ;; esac done | sort -u | tr '\n' ' ')
    if [ "$charts" != "$manifest " ]; then
      stale=$((stale + 1))
      note "round $r (${ms} ms): charts/ holds files of runs [$charts], run.json is the $manifest run's"
    fi
    [ "$kinds" = "$manifest " ] || mixed=$((mixed + 1))
    cp -a "$d" "$tmp/report"
    if "$g" report "$tmp/report" > /dev/null 2> "$tmp/err.txt"; then
      if [ "$kinds" != "$manifest " ]; then
        problem "round $r (${ms} ms): \`goodhart report\` accepted a folder whose files are [$kinds] and run.json $manifest"
      elif ! cmp -s "$tmp/report/report.html" "$tmp/ref-$([ "$manifest" = new ] && echo run || echo old)/report.html"; then
        problem "round $r (${ms} ms): \`goodhart report\` rebuilt a report that is not the $manifest run's"
      fi
    else
      refused=$((refused + 1))
      [ -s "$tmp/err.txt" ] || problem "round $r (${ms} ms): \`goodhart report\` failed without a message"
      [ "$refused" != 1 ] || note "round $r (${ms} ms): report refused: $(head -n 1 "$tmp/err.txt")"
    fi
    if ! "${run_cmd[@]}" --out "$d" 2> "$tmp/err.txt"; then
      problem "round $r (${ms} ms): the rerun failed: $(head -c 300 "$tmp/err.txt")"
    elif ! same_files "$d" "$tmp/ref-run" "${run_outputs[@]}" || [ "$(listed "$d")" != "$(listed "$tmp/ref-run")" ]; then
      problem "round $r (${ms} ms): the rerun's files differ from the reference run"
    fi
    # A run owns its folder: it removes what a killed run left (files.rs).
    [ -z "$(temporaries "$d")" ] || problem "round $r (${ms} ms): temporary files left after the completed rerun: $(temporaries "$d")"
  done
  verdict "run (over an older run's folder) killed with SIG$sig at random points: $rounds rounds ($interrupted interrupted, $mixed left mixed data files, report refused $refused, $stale left charts/ of another run), report.html never another run's, rerun equals the reference"
done

# 2. Two writers into one folder at once; the second starts up to half a
# run later.
concurrent() {
  local what=$1 ref=$2 total_ms=$3
  shift 3
  local cmd=("$@") r d ms c1 c2 p1 p2
  for r in $(seq "$rounds"); do
    d="$tmp/both"
    rm -rf "$d"
    ms=$((RANDOM % (total_ms / 2 + 1)))
    "${cmd[@]}" --out "$d" > /dev/null 2> "$tmp/err1.txt" &
    p1=$!
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    "${cmd[@]}" --out "$d" > /dev/null 2> "$tmp/err2.txt" &
    p2=$!
    c1=0
    wait "$p1" || c1=$?
    c2=0
    wait "$p2" || c2=$?
    if [ "$c1" = 0 ] && [ "$c2" = 0 ]; then
      problem "round $r (${ms} ms apart): both writers succeeded (the first finished before the second started?)"
    elif [ "$c1" != 0 ] && [ "$c2" != 0 ]; then
      problem "round $r (${ms} ms apart): both failed: $(cat "$tmp/err1.txt") / $(cat "$tmp/err2.txt")"
    else
      local err="$tmp/err2.txt"
      [ "$c1" = 0 ] || err="$tmp/err1.txt"
      grep -q "another goodhart process is writing" "$err" \
        || problem "round $r (${ms} ms apart): the refused writer said: $(head -c 300 "$err")"
      [ "$r" != 1 ] || note "refused with: $(head -n 1 "$err")"
    fi
    if [ "$what" = sweep ]; then
      same_files "$d" "$ref" "${sweep_outputs[@]}" || problem "round $r (${ms} ms apart): the folder differs from the reference sweep"
    else
      { same_files "$d" "$ref" "${run_outputs[@]}" && [ "$(listed "$d")" = "$(listed "$ref")" ]; } \
        || problem "round $r (${ms} ms apart): the folder differs from the reference run"
    fi
    [ -z "$(temporaries "$d")" ] || problem "round $r: temporary files left: $(temporaries "$d")"
  done
  verdict "two ${what}s into one --out at once: $rounds rounds, one succeeds, the other is refused (lock), the folder equals the reference"
}
concurrent sweep "$tmp/ref-sweep" "$sweep_ms" "${sweep_cmd[@]}"
# The run's reference, made in the folder the case writes into (the report
# records --out).
"${run_cmd[@]}" --out "$tmp/both"
mv "$tmp/both" "$tmp/ref-both"
concurrent run "$tmp/ref-both" "$run_ms" "${run_cmd[@]}"

# 3. A changed scenario into a folder that holds a sweep.
small=("$g" sweep --quiet)
sed 's/^seed = 3$/seed = 4/' "$scenario" > "$tmp/seed4.toml"
grep -q '^seed = 4$' "$tmp/seed4.toml" || problem "could not change the seed of $scenario"
"${small[@]}" "$scenario" --out "$tmp/ref-small"
"${small[@]}" "$scenario" --out "$tmp/changed"
"${small[@]}" "$tmp/seed4.toml" --out "$tmp/ref-seed4"
"${small[@]}" "$scenario" --replications 3 --out "$tmp/ref-reps3"
check_refused() {
  local label=$1 word=$2
  shift 2
  if "$@" --out "$tmp/changed" > /dev/null 2> "$tmp/err.txt"; then
    problem "$label: accepted"
  elif ! grep -q "$word" "$tmp/err.txt"; then
    problem "$label: refused without naming the $word: $(cat "$tmp/err.txt")"
  else
    note "$label: $(cat "$tmp/err.txt")"
  fi
}
check_refused "seed 3 -> 4" seed "${small[@]}" "$tmp/seed4.toml"
check_refused "replications 2 -> 3" replications "${small[@]}" "$scenario" --replications 3
same_files "$tmp/changed" "$tmp/ref-small" "${sweep_outputs[@]}" || problem "a refused rerun changed the folder's sweep"
if ! "${small[@]}" "$tmp/seed4.toml" --out "$tmp/changed" --force 2> "$tmp/err.txt"; then
  problem "--force (seed 4) failed: $(cat "$tmp/err.txt")"
elif ! same_files "$tmp/changed" "$tmp/ref-seed4" "${sweep_outputs[@]}"; then
  problem "--force (seed 4): the folder differs from a fresh seed-4 sweep"
fi
if ! "${small[@]}" "$scenario" --replications 3 --out "$tmp/changed" --force 2> "$tmp/err.txt"; then
  problem "--force (replications 3) failed: $(cat "$tmp/err.txt")"
elif ! same_files "$tmp/changed" "$tmp/ref-reps3" "${sweep_outputs[@]}"; then
  problem "--force (replications 3): the folder differs from a fresh 3-replication sweep"
fi
verdict "changed seed or replications into a sweep's folder: refused naming the change; --force gives the new sweep's bytes"

# 4. Mixed, damaged and missing part files.
"${small[@]}" "$scenario" --shard 1/2 --out "$tmp/parts"
"${small[@]}" "$scenario" --shard 2/2 --out "$tmp/parts"
"${small[@]}" "$tmp/seed4.toml" --shard 2/2 --out "$tmp/parts4"
merge_case() {
  local label=$1 dir=$2 word=$3
  if "$g" merge "$dir" > /dev/null 2> "$tmp/err.txt"; then
    problem "$label: merged"
  elif ! grep -qF "$word" "$tmp/err.txt"; then
    problem "$label: refused without naming $word: $(cat "$tmp/err.txt")"
  else
    note "$label: $(cat "$tmp/err.txt")"
  fi
  [ ! -e "$dir/sweep.csv" ] || problem "$label: a refused merge wrote sweep.csv"
}
cp -a "$tmp/parts" "$tmp/mixed"
cp "$tmp/parts4/part-2-of-2.csv" "$tmp/mixed/"
merge_case "part 2/2 of another seed" "$tmp/mixed" part-2-of-2.csv
cp -a "$tmp/parts" "$tmp/garbage"
# The mean of line 5 (a KPI value) becomes `garbage`.
awk -F, -v OFS=, 'NR == 5 { $8 = "garbage" } { print }' "$tmp/parts/part-2-of-2.csv" > "$tmp/garbage/part-2-of-2.csv"
merge_case "a value replaced by garbage" "$tmp/garbage" "part-2-of-2.csv: line 5"
cp -a "$tmp/parts" "$tmp/missing"
rm "$tmp/missing/part-2-of-2.csv"
merge_case "part 2/2 missing" "$tmp/missing" part-2-of-2.csv
if ! "$g" merge "$tmp/parts" > /dev/null 2> "$tmp/err.txt"; then
  problem "the intact parts did not merge: $(cat "$tmp/err.txt")"
elif ! same_files "$tmp/parts" "$tmp/ref-small" sweep.csv robustness.csv; then
  problem "the intact parts merged to other bytes than one process"
fi
verdict "merge of mixed, damaged and missing parts: refused naming the file; the intact parts merge to one process's bytes"

# 5. A full disk: small tmpfs folders, each just too small for one of the
# outputs in the order they are written, so every write meets the full disk.
if [ "$(id -u)" != 0 ]; then
  echo "SKIP  full disk: mounting tmpfs needs root"
elif ! mkdir -p "$tmp/probe" || ! mount -t tmpfs -o size=200k tmpfs "$tmp/probe" 2> "$tmp/err.txt"; then
  echo "SKIP  full disk: mount -t tmpfs refused here: $(cat "$tmp/err.txt")"
else
  mounts+=("$tmp/probe")
  umount "$tmp/probe"
  mounts=()
  # Files of reference folder REF in the order the command writes them,
  # then a disk size in KiB that fills up inside each: the pages of the
  # files before it plus half of its own (at least one page). `charts`
  # stands for the whole folder, written chart by chart.
  sizes() {
    local ref=$1 before=0 f pages kib c
    shift
    for f in "$@"; do
      pages=0
      for c in "$ref/$f" "$ref/$f"/*; do
        if [ -f "$c" ]; then pages=$((pages + ($(stat -c %s "$c") + 4095) / 4096)); fi
      done
      kib=$(((before + pages / 2) * 4))
      echo "$f $((kib < 4 ? 4 : kib))"
      before=$((before + pages))
    done
  }
  # The outputs of a sweep or a run in folder D equal those in REF.
  same_outputs() {
    if [ "$1" = sweep ]; then
      same_files "$2" "$3" "${sweep_outputs[@]}"
    else
      same_files "$2" "$3" "${run_outputs[@]}" && [ "$(listed "$2")" = "$(listed "$3")" ]
    fi
  }
  # Runs a command with --out on a tmpfs of KIB KiB: it must fail with a
  # message naming a file in it and leave no temporary file; or, with
  # `fits`, it may also succeed with REF's outputs. Then the disk grows to
  # 8 MiB and the same command must finish with REF's outputs.
  full_case() {
    local what=$1 kib=$2 at=$3 fits=$4 ref=$5
    shift 5
    local m="$tmp/full" msg
    mkdir -p "$m"
    mount -t tmpfs -o "size=${kib}k" tmpfs "$m"
    mounts+=("$m")
    if "$@" --out "$m/out" > /dev/null 2> "$tmp/err.txt"; then
      if [ "$fits" = fits ] && same_outputs "$what" "$m/out" "$ref"; then
        note "$what, ${kib} KiB: fits, and succeeded with the reference's outputs"
      else
        problem "$what, ${kib} KiB (full at $at): succeeded"
      fi
    else
      msg=$(tr '\n' ' ' < "$tmp/err.txt")
      if grep -q "$m/out/" "$tmp/err.txt"; then
        note "$what, ${kib} KiB (full at $at): $msg"
      else
        problem "$what, ${kib} KiB (full at $at): the message names no file: $msg"
      fi
    fi
    [ -z "$(temporaries "$m")" ] || problem "$what, ${kib} KiB: temporary files left: $(temporaries "$m")"
    mount -o remount,size=8m "$m"
    if ! "$@" --out "$m/out" > /dev/null 2> "$tmp/err.txt"; then
      problem "$what, ${kib} KiB (full at $at): with space again, the rerun failed: $(cat "$tmp/err.txt")"
    elif ! same_outputs "$what" "$m/out" "$ref"; then
      problem "$what, ${kib} KiB (full at $at): with space again, the rerun's outputs differ from the reference"
    fi
    umount "$m"
    mounts=()
  }
  # The run's reference, made in the folder the cases write into.
  mkdir -p "$tmp/full"
  "${run_cmd[@]}" --out "$tmp/full/out"
  mv "$tmp/full/out" "$tmp/ref-full"
  full_case run 200 timeseries.csv - "$tmp/ref-full" "${run_cmd[@]}"
  full_case sweep 200 "-" fits "$tmp/ref-sweep" "${sweep_cmd[@]}"
  verdict "full disk (tmpfs of 200 KiB): the run exits non-zero naming a file (the sweep's ~120 KiB may fit), no temporary files; with space, the rerun is right"
  # A sweep writes its part file's header, sweep.json, then appends tasks
  # to the part file.
  while read -r f kib; do
    full_case sweep "$kib" "$f" - "$tmp/ref-sweep" "${sweep_cmd[@]}"
  done < <(sizes "$tmp/ref-sweep" sweep.json part-1-of-1.csv sweep.csv robustness.csv charts/robustness.svg charts/robustness.png report.html)
  verdict "full disk at each write of a sweep: non-zero exit naming a file, no temporary files; with space, the rerun is right"
  # A run streams timeseries.csv, then writes each file whole.
  while read -r f kib; do
    full_case run "$kib" "$f" - "$tmp/ref-full" "${run_cmd[@]}"
  done < <(sizes "$tmp/ref-run" timeseries.csv summary.csv summary.json scenario.resolved.toml final_board.csv run.json charts report.html)
  verdict "full disk at each write of a run: non-zero exit naming a file, no temporary files; with space, the rerun is right"
fi

echo "done in $((SECONDS - started)) s: $failed case(s) failed"
[ "$failed" = 0 ]
