#!/usr/bin/env bash
# CPU inference benchmarks behind docs/benchmarks.md "## CPU inference": synthetic Llama-3.2-1B
# and SmolLM2-135M shapes (bf16, 8-bit, 4-bit g64), the DRAM read bandwidth of this machine,
# and `mlxlm bench -p 512 -g 128` per model. Usage: scripts/bench_cpu.sh [work-dir] [trials] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/mlxlm-bench}
trials=${2:-3}
threads=${3:-2}
bin=build/bin
mkdir -p "$work"
for shape in llama-3.2-1b smollm2-135m; do
  [ -d "$work/$shape-bf16" ] || "$bin/mlxlm" synth --shape "$shape" --out "$work/$shape-bf16" --seed 0
  [ -d "$work/$shape-q8" ] || "$bin/mlxlm" convert --hf-path "$work/$shape-bf16" \
    --mlx-path "$work/$shape-q8" -q --q-bits 8 --q-group-size 64
  [ -d "$work/$shape-q4" ] || "$bin/mlxlm" convert --hf-path "$work/$shape-bf16" \
    --mlx-path "$work/$shape-q4" -q --q-bits 4 --q-group-size 64
done
lscpu | grep "Model name"
nproc
uptime
"$bin/bandwidth_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
for model in smollm2-135m-q4 smollm2-135m-q8 smollm2-135m-bf16 llama-3.2-1b-q4 llama-3.2-1b-q8 \
             llama-3.2-1b-bf16; do
  echo "== $model"
  "$bin/mlxlm" bench --model "$work/$model" -p 512 -g 128 -n "$trials" -t "$threads"
done
uptime
