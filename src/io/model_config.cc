#include "io/model_config.h"

#include <filesystem>

namespace mlxlm {

std::vector<int32_t> json_int_list(const Json& value, const std::string& what) {
  std::vector<int32_t> out;
  if (value.is_null()) return out;
  if (value.is_number_integer()) {
    out.push_back(value.get<int32_t>());
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_number_integer()) throw InvalidInput("config", what + ": expected integers");
      out.push_back(v.get<int32_t>());
    }
  } else {
    throw InvalidInput("config", what + ": expected an integer or a list of integers");
  }
  return out;
}

ModelConfig load_model_config(const std::string& dir) {
  std::string path = dir + "/config.json";
  if (!std::filesystem::exists(path)) throw FileError("config", "no config.json in " + dir);
  ModelConfig cfg;
  cfg.dir = dir;
  cfg.json = read_json_file(path);
  if (!cfg.json.is_object()) throw InvalidInput("config", path + ": not a JSON object");
  cfg.model_type = json_require<std::string>(cfg.json, "model_type", path);
  if (cfg.json.contains("eos_token_id")) {
    cfg.eos_token_ids = json_int_list(cfg.json["eos_token_id"], path + ": eos_token_id");
  }
  std::string gen_path = dir + "/generation_config.json";
  if (std::filesystem::exists(gen_path)) {
    Json gen = read_json_file(gen_path);
    if (gen.is_object() && gen.contains("eos_token_id") && !gen["eos_token_id"].is_null()) {
      cfg.eos_token_ids = json_int_list(gen["eos_token_id"], gen_path + ": eos_token_id");
    }
  }
  return cfg;
}

}  // namespace mlxlm
