// `mlxlm chat` driven through a pseudo-terminal like a person: two turns, a reset, quit. The
// statistics line shows that the second turn only processes its own tokens and that the cache
// holds the whole conversation.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <regex>

#include "base/mapped_file.h"
#include "io/json.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

namespace fs = std::filesystem;

class PtySession {
 public:
  explicit PtySession(const std::vector<std::string>& args) {
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~PtySession() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  void type(const std::string& line) {
    ASSERT_EQ(write(fd_, line.data(), line.size()), ssize_t(line.size()));
  }
  // Reads until `marker` appears after what was already consumed; a safety deadline keeps a
  // broken binary from hanging the suite (it is not a speed check).
  std::string read_until(const std::string& marker) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      size_t at = screen_.find(marker, consumed_);
      if (at != std::string::npos) {
        std::string out = screen_.substr(consumed_, at + marker.size() - consumed_);
        consumed_ = at + marker.size();
        return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) > 0) {
        char buf[4096];
        ssize_t n = read(fd_, buf, sizeof(buf));
        if (n <= 0) break;
        screen_.append(buf, static_cast<size_t>(n));
      }
    }
    ADD_FAILURE() << "never saw '" << marker << "'; screen:\n" << screen_;
    return "";
  }
  int wait_exit() {
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string screen_;
  size_t consumed_ = 0;
};

struct TurnStats {
  long prompt = -1, generation = -1, cache = -1;
};

TurnStats parse_stats(const std::string& text) {
  std::smatch m;
  std::regex re(R"(Prompt: (\d+) tokens.*Generation: (\d+) tokens.*Cache: (\d+) tokens)");
  TurnStats s;
  if (std::regex_search(text, m, re)) {
    s.prompt = std::stol(m[1]);
    s.generation = std::stol(m[2]);
    s.cache = std::stol(m[3]);
  }
  return s;
}

// tinystories-656k copied into `dir` with a chat template that renders the messages' text.
void copy_with_chat_template(const testing::TempDir& dir) {
  for (const auto& e : fs::directory_iterator(testing::tinystories_dir())) {
    fs::copy_file(e.path(), dir.file(e.path().filename().string()));
  }
  Json config = read_json_file(dir.file("tokenizer_config.json"));
  config["chat_template"] = "{% for m in messages %}{{ m.content }}{% endfor %}";
  write_file_atomic(dir.file("tokenizer_config.json"), config.dump());
}

TEST(ChatRepl, TwoTurnsReuseTheCacheAndResetClearsIt) {
  testing::TempDir dir;
  copy_with_chat_template(dir);

  PtySession chat({MLXLM_BIN, "chat", "--model", dir.path(), "--verbose", "-m", "8"});
  chat.read_until(">> ");
  chat.type("Once upon a time\n");
  TurnStats t1 = parse_stats(chat.read_until(">> "));
  chat.type("The little dog\n");
  TurnStats t2 = parse_stats(chat.read_until(">> "));
  chat.type("r\n");
  chat.read_until(">> ");
  chat.type("The little dog\n");
  TurnStats t3 = parse_stats(chat.read_until(">> "));
  chat.type("q\n");
  EXPECT_EQ(chat.wait_exit(), 0);

  ASSERT_GT(t1.prompt, 0);
  ASSERT_GT(t2.prompt, 0);
  // Turn 1: the cache holds its prompt and every generated token.
  EXPECT_EQ(t1.cache, t1.prompt + t1.generation);
  // Turn 2 processes only its own tokens, appended to the conversation in the cache.
  EXPECT_EQ(t2.cache, t1.cache + t2.prompt + t2.generation);
  // After a reset the same message starts from an empty cache.
  EXPECT_EQ(t3.prompt, t2.prompt);
  EXPECT_EQ(t3.cache, t3.prompt + t3.generation);
}

// Two greedy turns, as the answers' text and the statistics lines, with extra flags.
std::vector<std::string> two_turns(const std::string& model, std::vector<std::string> flags) {
  std::vector<std::string> args = {MLXLM_BIN, "chat", "--model", model, "--verbose", "-m", "12"};
  args.insert(args.end(), flags.begin(), flags.end());
  PtySession chat(args);
  chat.read_until(">> ");
  chat.type("Once upon a time\n");
  std::vector<std::string> turns = {chat.read_until(">> ")};
  chat.type("The little dog\n");
  turns.push_back(chat.read_until(">> "));
  chat.type("q\n");
  EXPECT_EQ(chat.wait_exit(), 0);
  return turns;
}

// With a draft (a 4-bit conversion of the model), the answers are the model's greedy ones, the
// conversation's cache grows as without it, and each turn reports its drafts.
TEST(ChatRepl, DraftModelKeepsTheAnswersAndReportsItsDrafts) {
  testing::TempDir dir;
  copy_with_chat_template(dir);
  const std::string draft = dir.file("draft-q4");
  PtySession convert(
      {MLXLM_BIN, "convert", "--hf-path", dir.path(), "--mlx-path", draft, "-q", "--q-bits", "4"});
  ASSERT_EQ(convert.wait_exit(), 0);

  const auto plain = two_turns(dir.path(), {});
  const auto drafted = two_turns(dir.path(), {"--draft-model", draft, "--num-draft-tokens", "2"});
  ASSERT_EQ(plain.size(), 2u);
  ASSERT_EQ(drafted.size(), 2u);
  const std::regex drafts(R"(Draft acceptance: (\d+) of (\d+))");
  for (size_t t = 0; t < 2; ++t) {
    auto answer = [](const std::string& turn) { return turn.substr(0, turn.find("[Prompt:")); };
    EXPECT_EQ(answer(drafted[t]), answer(plain[t])) << "turn " << t + 1;
    const TurnStats a = parse_stats(plain[t]), b = parse_stats(drafted[t]);
    EXPECT_EQ(b.prompt, a.prompt);
    EXPECT_EQ(b.generation, a.generation);
    EXPECT_EQ(b.cache, a.cache);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(drafted[t], m, drafts)) << drafted[t];
    EXPECT_GT(std::stol(m[2]), 0);
    EXPECT_LE(std::stol(m[1]), std::stol(m[2]));
    EXPECT_FALSE(std::regex_search(plain[t], drafts)) << plain[t];
  }
}

}  // namespace
}  // namespace mlxlm
