#include "cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <limits>

#include "base/env.h"
#include "base/error.h"
#include "base/thread_pool.h"

namespace fs = std::filesystem;

namespace mlxlm::cli {

std::string default_model_dir() {
  const std::string rel = "models/tinystories-656k";
  std::string env = env_or("MLXLM_SHARED", "");
  if (!env.empty()) return env + "/" + rel;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path candidate = exe.parent_path() / ".." / ".." / ".." / "shared" / rel;
    if (fs::is_directory(candidate)) return fs::weakly_canonical(candidate).string();
  }
  return "../shared/" + rel;
}

int run_guarded(const char* command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "mlxlm %s: error: %s\n", command, e.what());
    return 1;
  } catch (const FileError& e) {
    std::fprintf(stderr, "mlxlm %s: error: %s\n", command, e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mlxlm %s: error: out of memory\n", command);
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlxlm %s: internal error: %s\n", command, e.what());
    return 3;
  }
}

bool parse_bool(const std::string& s) {
  std::string v = s;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "t" || v == "yes" || v == "y" || v == "1") return true;
  if (v == "false" || v == "f" || v == "no" || v == "n" || v == "0") return false;
  throw InvalidInput("cli", "expected a boolean (true/false), got '" + s + "'");
}

std::string read_prompt_arg(const std::string& arg) {
  if (arg == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::string out;
  for (size_t i = 0; i < arg.size(); ++i) {
    if (arg[i] == '\\' && i + 1 < arg.size() && (arg[i + 1] == 'n' || arg[i + 1] == 't')) {
      out.push_back(arg[i + 1] == 'n' ? '\n' : '\t');
      ++i;
    } else {
      out.push_back(arg[i]);
    }
  }
  return out;
}

std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

CLI::Validator at_least(long long lo) {
  return CLI::Validator(
      [lo](std::string& value) -> std::string {
        long long v = 0;
        if (!CLI::detail::lexical_cast(value, v)) return value + " is not a whole number";
        if (v < lo) return value + " is below " + std::to_string(lo);
        return {};
      },
      lo == 1   ? "POSITIVE"
      : lo == 0 ? "NONNEGATIVE"
                : "AT LEAST " + std::to_string(lo));
}

void add_threads_option(CLI::App& app, const std::string& flags, int& threads) {
  app.add_option(flags, threads, "Threads (default: the cores this process may run on)")
      ->check(at_least(0));
}

void apply_threads(const char* command, int threads) {
  if (threads > ThreadPool::available_cores()) {
    std::fprintf(stderr,
                 "mlxlm %s: warning: %d threads exceed the cores this process may use (%d); "
                 "threads will share cores and wait for each other\n",
                 command, threads, ThreadPool::available_cores());
  }
  if (threads > 0) ThreadPool::set_num_threads(threads);
}

CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        uint64_t v = 0;
        const char* end = value.data() + value.size();
        auto [ptr, ec] = std::from_chars(value.data(), end, v);
        if (value.empty() || ec != std::errc() || ptr != end) {
          return value + " is not a whole number from 0 to " +
                 std::to_string(std::numeric_limits<uint64_t>::max());
        }
        return {};
      },
      "SEED");
}

}  // namespace mlxlm::cli
