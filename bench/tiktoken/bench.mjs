// Encode throughput of tiktoken's WebAssembly build with o200k_base, single thread, on the text
// that `build/bin/tokenizer_bench --dump_text=PATH` writes (the same text the C++ benchmark uses).
// Usage: node bench.mjs PATH [repetitions]
import { readFileSync } from "node:fs";
import { get_encoding } from "tiktoken";

const path = process.argv[2];
if (!path) {
  console.error("usage: node bench.mjs TEXT_FILE [repetitions]");
  process.exit(2);
}
const reps = Number(process.argv[3] ?? 5);
const text = readFileSync(path, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const enc = get_encoding("o200k_base");

// Two ways of feeding the text: one encode call on all of it, and one call per line.
const lines = text.split(/(?<=\n)/);
const modes = {
  whole: () => enc.encode_ordinary(text).length,
  lines: () => lines.reduce((n, line) => n + enc.encode_ordinary(line).length, 0),
};
for (const [mode, run] of Object.entries(modes)) {
  let tokens = run();  // warm-up
  const times = [];
  const cpu_times = [];  // CPU time too: on a shared machine wall time includes waiting
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    tokens = run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpu_times.push((c.user + c.system) / 1e6);
  }
  cpu_times.sort((a, b) => a - b);
  times.sort((a, b) => a - b);
  const best = times[0];
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({
    encoding: "o200k_base",
    mode,
    bytes,
    tokens,
    best_s: best,
    median_s: median,
    mb_per_s_best: bytes / 1e6 / best,
    mb_per_s_median: bytes / 1e6 / median,
    mb_per_s_cpu_best: bytes / 1e6 / cpu_times[0],
  }));
}
enc.free();
