// The policy spec: YAML reading, writing and internal checks (format: docs/policy_spec.md).
#include "control/policy/policy.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace oh::control::policy {
namespace {

struct TermInfo {
  TermKind kind;
  const char* name;
};
constexpr TermInfo kTerms[] = {
    {TermKind::kBaseAngVel, "base_ang_vel"},   {TermKind::kProjectedGravity, "projected_gravity"},
    {TermKind::kCommand, "command"},           {TermKind::kJointPosRel, "joint_pos_rel"},
    {TermKind::kJointVel, "joint_vel"},        {TermKind::kLastAction, "last_action"},
    {TermKind::kGaitPhase, "gait_phase"},
};

/// Reads YAML with errors naming the file, the key path and the line.
class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& msg) const {
    const int line = n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
    throw PolicyError(line > 0 ? fmt::format("{}:{}: {}: {}", where_, line, key, msg)
                               : fmt::format("{}: {}: {}", where_, key, msg));
  }
  void keys(const YAML::Node& n, const std::string& where, std::initializer_list<const char*> allowed) const {
    if (!n.IsMap()) fail(n, where, "expected a mapping");
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      bool ok = false;
      for (const char* a : allowed) ok = ok || k == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, where.empty() ? k : where + "." + k, fmt::format("unknown key (known: {})", list));
      }
    }
  }
  double number(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a number");
    try {
      const double v = n.as<double>();
      if (!std::isfinite(v)) fail(n, key, "must be finite");
      return v;
    } catch (const YAML::Exception&) {
      fail(n, key, fmt::format("'{}' is not a number", n.Scalar()));
    }
  }
  int integer(const YAML::Node& n, const std::string& key) const {
    const double v = number(n, key);
    if (v != std::floor(v)) fail(n, key, "expected an integer");
    return static_cast<int>(v);
  }
  std::string string(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a string");
    return n.Scalar();
  }
  std::vector<double> numbers(const YAML::Node& n, const std::string& key) const {
    std::vector<double> v;
    if (n.IsScalar()) return {number(n, key)};
    if (!n.IsSequence()) fail(n, key, "expected a number or a list of numbers");
    for (size_t i = 0; i < n.size(); ++i) v.push_back(number(n[i], fmt::format("{}[{}]", key, i)));
    return v;
  }
  std::vector<double> list(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, key, "expected a list of numbers");
    return numbers(n, key);
  }
  std::vector<std::string> strings(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, key, "expected a list of names");
    std::vector<std::string> v;
    for (size_t i = 0; i < n.size(); ++i) v.push_back(string(n[i], fmt::format("{}[{}]", key, i)));
    return v;
  }
  std::optional<std::pair<double, double>> clip(const YAML::Node& n, const std::string& key) const {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    const auto v = numbers(n, key);
    if (v.size() == 1) {
      if (!(v[0] > 0)) fail(n, key, "a single clip value must be positive (clip to [-c, c])");
      return std::make_pair(-v[0], v[0]);
    }
    if (v.size() != 2 || !(v[0] < v[1])) fail(n, key, "expected c or [lo, hi] with lo < hi");
    return std::make_pair(v[0], v[1]);
  }
  const YAML::Node need(const YAML::Node& parent, const char* k, const std::string& where) const {
    const YAML::Node n = parent[k];
    if (!n.IsDefined() || n.IsNull()) fail(parent, where.empty() ? k : where + "." + k, "missing");
    return n;
  }

 private:
  std::string where_;
};

void emit_numbers(YAML::Emitter& e, const std::vector<double>& v) {
  if (v.size() == 1) {
    e << v[0];
    return;
  }
  e << YAML::Flow << YAML::BeginSeq;
  for (double x : v) e << x;
  e << YAML::EndSeq;
}

}  // namespace

std::string term_name(TermKind kind) {
  for (const auto& t : kTerms)
    if (t.kind == kind) return t.name;
  return "?";
}

int PolicySpec::term_size(const ObsTerm& t) const {
  switch (t.kind) {
    case TermKind::kBaseAngVel:
    case TermKind::kProjectedGravity:
    case TermKind::kCommand: return 3;
    case TermKind::kJointPosRel:
    case TermKind::kJointVel:
    case TermKind::kLastAction: return num_actions();
    case TermKind::kGaitPhase: return 2;
  }
  return 0;
}

int PolicySpec::observation_size() const {
  int n = 0;
  for (const auto& t : observation) n += term_size(t) * t.history;
  return n;
}

void check_spec(const PolicySpec& s) {
  const std::string w = s.source.empty() ? std::string("<spec>") : s.source.string();
  const auto fail = [&](const std::string& m) { throw PolicyError(fmt::format("{}: {}", w, m)); };
  if (s.version != kSpecVersion) fail(fmt::format("policy_spec version {} is not supported (this runtime reads {})",
                                                  s.version, kSpecVersion));
  const size_t n = s.joints.size();
  if (n == 0) fail("joints.names: no policy joints");
  const auto per_joint = [&](const std::vector<double>& v, const char* key) {
    if (v.size() != n) fail(fmt::format("{}: expected {} values (one per policy joint), got {}", key, n, v.size()));
  };
  per_joint(s.default_q, "joints.default");
  per_joint(s.kp, "joints.kp");
  per_joint(s.kd, "joints.kd");
  for (size_t i = 0; i < n; ++i)
    if (s.kp[i] < 0 || s.kd[i] < 0) fail(fmt::format("joints.kp/kd: negative gain for joint '{}'", s.joints[i]));
  if (s.action_scale.size() != 1 && s.action_scale.size() != n)
    fail(fmt::format("action.scale: expected 1 or {} values (one per policy joint), got {}", n, s.action_scale.size()));
  if (s.action_type != "joint_position")
    fail(fmt::format("action.type '{}': only joint_position is supported", s.action_type));
  if (!(s.policy_hz > 0)) fail("rates.policy_hz must be positive");
  if (s.physics_dt < 0) fail("rates.physics_dt must be positive (or absent for the model's own)");
  if (s.physics_dt > 0) {
    const double dec = 1.0 / (s.policy_hz * s.physics_dt);
    if (std::abs(dec - std::round(dec)) > 1e-6 || std::round(dec) < 1)
      fail(fmt::format("rates: policy period 1/{} s is not a whole number of physics steps of {} s", s.policy_hz,
                       s.physics_dt));
  }
  if (s.observation.empty()) fail("observation.terms: no terms");
  int h0 = s.observation.front().history;
  for (const auto& t : s.observation) {
    const std::string tn = "observation term '" + term_name(t.kind) + "'";
    const int size = s.term_size(t);
    if (t.size != 0 && t.size != size)
      fail(fmt::format("{}: declared size {}, the spec gives {} (expected {}, actual {})", tn, t.size, size, size, t.size));
    if (t.scale.size() != 1 && static_cast<int>(t.scale.size()) != size)
      fail(fmt::format("{}: scale has {} values, expected 1 or {}", tn, t.scale.size(), size));
    if (t.history < 1) fail(fmt::format("{}: history must be at least 1, got {}", tn, t.history));
    if (t.kind == TermKind::kGaitPhase && !(t.period > 0)) fail(fmt::format("{}: period must be positive", tn));
    if (s.history_layout == HistoryLayout::kFrameMajor && t.history != h0)
      fail(fmt::format("{}: history {} differs from the first term's {} (frame_major needs one history length)", tn,
                       t.history, h0));
  }
  if (s.command_default.size() != 3) fail(fmt::format("command.default: expected 3 values, got {}", s.command_default.size()));
  std::set<std::string> seen(s.joints.begin(), s.joints.end());
  for (const auto& h : s.held) {
    if (h.kp < 0 || h.kd < 0) fail(fmt::format("hold.joints: negative gain for joint '{}'", h.name));
    if (!seen.insert(h.name).second) fail(fmt::format("hold.joints: joint '{}' is also a policy joint or listed twice", h.name));
  }
}

PolicySpec parse_spec(const std::string& text, const std::filesystem::path& base_dir, const std::string& where) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw PolicyError(fmt::format("{}:{}: malformed YAML: {}", where, e.mark.line + 1, e.msg));
  }
  Reader r(where);
  if (!root.IsMap()) throw PolicyError(fmt::format("{}: expected a YAML mapping", where));
  r.keys(root, "", {"policy_spec", "name", "network", "rates", "joints", "observation", "action", "command", "hold"});
  PolicySpec s;
  s.version = r.integer(r.need(root, "policy_spec", ""), "policy_spec");
  if (s.version != kSpecVersion)
    throw PolicyError(fmt::format("{}: policy_spec version {} is not supported (this runtime reads {})", where,
                                  s.version, kSpecVersion));
  if (root["name"]) s.name = r.string(root["name"], "name");
  s.network = r.string(r.need(root, "network", ""), "network");
  if (s.network.is_relative() && !base_dir.empty()) s.network = base_dir / s.network;

  const YAML::Node rates = r.need(root, "rates", "");
  r.keys(rates, "rates", {"policy_hz", "physics_dt"});
  s.policy_hz = r.number(r.need(rates, "policy_hz", "rates"), "rates.policy_hz");
  if (rates["physics_dt"] && !rates["physics_dt"].IsNull()) s.physics_dt = r.number(rates["physics_dt"], "rates.physics_dt");

  const YAML::Node j = r.need(root, "joints", "");
  r.keys(j, "joints", {"names", "default", "kp", "kd"});
  s.joints = r.strings(r.need(j, "names", "joints"), "joints.names");
  s.default_q = r.list(r.need(j, "default", "joints"), "joints.default");
  s.kp = r.list(r.need(j, "kp", "joints"), "joints.kp");
  s.kd = r.list(r.need(j, "kd", "joints"), "joints.kd");

  const YAML::Node o = r.need(root, "observation", "");
  r.keys(o, "observation", {"history_layout", "history_order", "terms"});
  if (o["history_layout"]) {
    const std::string l = r.string(o["history_layout"], "observation.history_layout");
    if (l == "term_major") s.history_layout = HistoryLayout::kTermMajor;
    else if (l == "frame_major") s.history_layout = HistoryLayout::kFrameMajor;
    else r.fail(o["history_layout"], "observation.history_layout", fmt::format("'{}': expected term_major or frame_major", l));
  }
  if (o["history_order"]) {
    const std::string l = r.string(o["history_order"], "observation.history_order");
    if (l == "oldest_first") s.history_oldest_first = true;
    else if (l == "newest_first") s.history_oldest_first = false;
    else r.fail(o["history_order"], "observation.history_order", fmt::format("'{}': expected oldest_first or newest_first", l));
  }
  const YAML::Node terms = r.need(o, "terms", "observation");
  if (!terms.IsSequence()) r.fail(terms, "observation.terms", "expected a list of terms");
  for (size_t i = 0; i < terms.size(); ++i) {
    const YAML::Node tn = terms[i];
    const std::string key = fmt::format("observation.terms[{}]", i);
    r.keys(tn, key, {"term", "size", "scale", "clip", "history", "period"});
    ObsTerm t;
    const std::string name = r.string(r.need(tn, "term", key), key + ".term");
    bool found = false;
    for (const auto& ti : kTerms)
      if (name == ti.name) {
        t.kind = ti.kind;
        found = true;
      }
    if (!found) {
      std::string list;
      for (const auto& ti : kTerms) list += (list.empty() ? "" : ", ") + std::string(ti.name);
      r.fail(tn["term"], key + ".term", fmt::format("unknown term '{}' (known: {})", name, list));
    }
    const std::string tk = key + " (" + name + ")";
    if (tn["size"]) t.size = r.integer(tn["size"], tk + ".size");
    if (tn["scale"]) t.scale = r.numbers(tn["scale"], tk + ".scale");
    t.clip = r.clip(tn["clip"], tk + ".clip");
    if (tn["history"]) t.history = r.integer(tn["history"], tk + ".history");
    if (tn["period"]) t.period = r.number(tn["period"], tk + ".period");
    if (t.kind == TermKind::kGaitPhase && !tn["period"]) r.fail(tn, tk + ".period", "missing (gait_phase needs a period [s])");
    s.observation.push_back(t);
  }

  const YAML::Node a = r.need(root, "action", "");
  r.keys(a, "action", {"type", "scale", "offset", "clip"});
  if (a["type"]) s.action_type = r.string(a["type"], "action.type");
  if (a["scale"]) s.action_scale = r.numbers(a["scale"], "action.scale");
  if (a["offset"] && r.string(a["offset"], "action.offset") != "default")
    r.fail(a["offset"], "action.offset", "only 'default' (joints.default) is supported");
  s.action_clip = r.clip(a["clip"], "action.clip");

  if (root["command"]) {
    r.keys(root["command"], "command", {"default"});
    if (root["command"]["default"]) s.command_default = r.list(root["command"]["default"], "command.default");
  }
  if (root["hold"]) {
    const YAML::Node h = root["hold"];
    r.keys(h, "hold", {"joints", "default"});
    if (h["joints"]) {
      if (!h["joints"].IsSequence()) r.fail(h["joints"], "hold.joints", "expected a list");
      for (size_t i = 0; i < h["joints"].size(); ++i) {
        const YAML::Node e = h["joints"][i];
        const std::string key = fmt::format("hold.joints[{}]", i);
        r.keys(e, key, {"name", "q", "kp", "kd"});
        HeldJoint hj;
        hj.name = r.string(r.need(e, "name", key), key + ".name");
        hj.q = e["q"] ? r.number(e["q"], key + ".q") : 0.0;
        hj.kp = r.number(r.need(e, "kp", key), key + ".kp");
        hj.kd = r.number(r.need(e, "kd", key), key + ".kd");
        s.held.push_back(hj);
      }
    }
    if (h["default"]) {
      r.keys(h["default"], "hold.default", {"kp", "kd"});
      HeldJoint hd;
      hd.kp = r.number(r.need(h["default"], "kp", "hold.default"), "hold.default.kp");
      hd.kd = r.number(r.need(h["default"], "kd", "hold.default"), "hold.default.kd");
      s.held_default = hd;
    }
  }
  check_spec(s);
  return s;
}

PolicySpec load_spec(const std::filesystem::path& file) {
  std::ifstream f(file);
  if (!f) throw PolicyError(fmt::format("{}: cannot read policy spec", file.string()));
  std::stringstream ss;
  ss << f.rdbuf();
  PolicySpec s = parse_spec(ss.str(), file.parent_path(), file.string());
  s.source = file;
  return s;
}

std::string write_spec(const PolicySpec& s, const std::filesystem::path& relative_to) {
  check_spec(s);
  YAML::Emitter e;
  e.SetDoublePrecision(10);
  e << YAML::BeginMap;
  e << YAML::Key << "policy_spec" << YAML::Value << s.version;
  if (!s.name.empty()) e << YAML::Key << "name" << YAML::Value << s.name;
  std::filesystem::path net = s.network;
  if (!relative_to.empty() && net.is_absolute()) {
    std::error_code ec;
    const auto rel = std::filesystem::relative(net, relative_to, ec);
    if (!ec && !rel.empty()) net = rel;
  }
  e << YAML::Key << "network" << YAML::Value << net.string();
  e << YAML::Key << "rates" << YAML::Value << YAML::BeginMap << YAML::Key << "policy_hz" << YAML::Value << s.policy_hz;
  if (s.physics_dt > 0) e << YAML::Key << "physics_dt" << YAML::Value << s.physics_dt;
  e << YAML::EndMap;
  e << YAML::Key << "joints" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "names" << YAML::Value << YAML::Flow << s.joints;
  e << YAML::Key << "default" << YAML::Value << YAML::Flow << s.default_q;
  e << YAML::Key << "kp" << YAML::Value << YAML::Flow << s.kp;
  e << YAML::Key << "kd" << YAML::Value << YAML::Flow << s.kd;
  e << YAML::EndMap;
  e << YAML::Key << "observation" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "history_layout" << YAML::Value
    << (s.history_layout == HistoryLayout::kTermMajor ? "term_major" : "frame_major");
  e << YAML::Key << "history_order" << YAML::Value << (s.history_oldest_first ? "oldest_first" : "newest_first");
  e << YAML::Key << "terms" << YAML::Value << YAML::BeginSeq;
  for (const auto& t : s.observation) {
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "term" << YAML::Value << term_name(t.kind);
    e << YAML::Key << "size" << YAML::Value << s.term_size(t);
    if (!(t.scale.size() == 1 && t.scale[0] == 1.0)) {
      e << YAML::Key << "scale" << YAML::Value;
      emit_numbers(e, t.scale);
    }
    if (t.clip) e << YAML::Key << "clip" << YAML::Value << YAML::Flow << YAML::BeginSeq << t.clip->first << t.clip->second << YAML::EndSeq;
    if (t.history != 1) e << YAML::Key << "history" << YAML::Value << t.history;
    if (t.kind == TermKind::kGaitPhase) e << YAML::Key << "period" << YAML::Value << t.period;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  e << YAML::Key << "action" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "type" << YAML::Value << s.action_type;
  e << YAML::Key << "scale" << YAML::Value;
  emit_numbers(e, s.action_scale);
  e << YAML::Key << "offset" << YAML::Value << "default";
  if (s.action_clip)
    e << YAML::Key << "clip" << YAML::Value << YAML::Flow << YAML::BeginSeq << s.action_clip->first << s.action_clip->second << YAML::EndSeq;
  e << YAML::EndMap;
  e << YAML::Key << "command" << YAML::Value << YAML::BeginMap << YAML::Key << "default" << YAML::Value << YAML::Flow
    << s.command_default << YAML::EndMap;
  if (!s.held.empty() || s.held_default) {
    e << YAML::Key << "hold" << YAML::Value << YAML::BeginMap;
    if (!s.held.empty()) {
      e << YAML::Key << "joints" << YAML::Value << YAML::BeginSeq;
      for (const auto& h : s.held)
        e << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << h.name << YAML::Key << "q"
          << YAML::Value << h.q << YAML::Key << "kp" << YAML::Value << h.kp << YAML::Key << "kd" << YAML::Value << h.kd
          << YAML::EndMap;
      e << YAML::EndSeq;
    }
    if (s.held_default)
      e << YAML::Key << "default" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "kp" << YAML::Value
        << s.held_default->kp << YAML::Key << "kd" << YAML::Value << s.held_default->kd << YAML::EndMap;
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string("# OpenHumanoid policy spec (docs/policy_spec.md)\n") + e.c_str() + "\n";
}

}  // namespace oh::control::policy
