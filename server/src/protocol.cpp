#include "server/protocol.hpp"

#include "model/model.hpp"
#include "model/profile.hpp"

#include <fmt/format.h>
#include <mujoco/mujoco.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace oh::server {
namespace {

using nlohmann::json;

/// Rounds to 1e-5 so the stream stays compact (nlohmann prints the shortest round-trip form).
double r5(double x) { return std::isfinite(x) ? std::round(x * 1e5) / 1e5 : 0.0; }

json vec(const Eigen::Vector3d& v) { return json::array({r5(v.x()), r5(v.y()), r5(v.z())}); }
json quat(const Eigen::Quaterniond& q) { return json::array({r5(q.w()), r5(q.x()), r5(q.y()), r5(q.z())}); }
json list(const Eigen::VectorXd& v) {
  json a = json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(r5(v[i]));
  return a;
}

const char* geom_type(model::Geom::Type t) {
  switch (t) {
    case model::Geom::Type::kPlane: return "plane";
    case model::Geom::Type::kHeightField: return "hfield";
    case model::Geom::Type::kSphere: return "sphere";
    case model::Geom::Type::kCapsule: return "capsule";
    case model::Geom::Type::kEllipsoid: return "ellipsoid";
    case model::Geom::Type::kCylinder: return "cylinder";
    case model::Geom::Type::kBox: return "box";
    case model::Geom::Type::kMesh: return "mesh";
    case model::Geom::Type::kOther: break;
  }
  return "other";
}

/// The effort limit of joint j [N m | N]: the joint's own, else its actuator's force range times gear; null.
json effort_limit(const model::Model& m, int j) {
  if (m.joints[j].effort_limit > 0) return m.joints[j].effort_limit;
  const int a = m.actuator_for_joint(j);
  if (a >= 0 && m.actuators[a].force_limited)
    return std::max(std::abs(m.actuators[a].force_lower), std::abs(m.actuators[a].force_upper)) *
           std::abs(m.actuators[a].gear);
  return nullptr;
}

json error(const std::string& why, const json& id, const std::string& op = {}) {
  json e{{"type", "error"}, {"error", why}};
  if (!id.is_null()) e["id"] = id;
  if (!op.empty()) e["op"] = op;
  return e;
}

}  // namespace

std::string base64(const void* data, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    const std::uint32_t b = (std::uint32_t(p[i]) << 16) | (i + 1 < n ? std::uint32_t(p[i + 1]) << 8 : 0u) |
                            (i + 2 < n ? std::uint32_t(p[i + 2]) : 0u);
    out += kAlphabet[(b >> 18) & 63];
    out += kAlphabet[(b >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[b & 63] : '=';
  }
  return out;
}

json robot_json(const runtime::Session& session) {
  const model::Model& m = session.model();
  const model::Profile& p = session.profile();
  json j;
  j["name"] = m.name;
  j["source"] = session.robot_path();
  j["mass_kg"] = m.total_mass();
  j["nq"] = m.nq;
  j["nv"] = m.nv;
  j["control_dt_s"] = session.control_dt();
  const runtime::CommandLimits lim = session.limits();
  j["command_limits"] = {{"vx", lim.max_vx}, {"vy", lim.max_vy}, {"wz", lim.max_wz}};
  j["feet"] = {m.bodies[p.left_foot.body].name, m.bodies[p.right_foot.body].name};
  json& joints = j["joints"] = json::array();
  for (size_t k = 0; k < m.joints.size(); ++k) {
    const model::Joint& jt = m.joints[k];
    if (jt.nv != 1) continue;
    joints.push_back({{"name", jt.name},
                      {"body", jt.body},
                      {"lower", jt.limited ? json(jt.lower) : json(nullptr)},
                      {"upper", jt.limited ? json(jt.upper) : json(nullptr)},
                      {"velocity_limit", jt.velocity_limit > 0 ? json(jt.velocity_limit) : json(nullptr)},
                      {"effort_limit", effort_limit(m, static_cast<int>(k))}});
  }
  json& bodies = j["bodies"] = json::array();
  for (const auto& b : m.bodies) bodies.push_back({{"name", b.name}, {"parent", b.parent}});
  json& geoms = j["geoms"] = json::array();
  const mjModel* mj = session.robot().mj.get();
  for (size_t k = 0; k < m.geoms.size(); ++k) {
    const model::Geom& g = m.geoms[k];
    const int group = mj && static_cast<int>(k) < mj->ngeom ? mj->geom_group[k] : 0;
    geoms.push_back({{"name", g.name},
                     {"type", geom_type(g.type)},
                     {"body", g.body},
                     {"size", {g.size.x(), g.size.y(), g.size.z()}},
                     {"pos", {g.pos.x(), g.pos.y(), g.pos.z()}},
                     {"quat", {g.quat.w(), g.quat.x(), g.quat.y(), g.quat.z()}},
                     {"rgba", {g.rgba[0], g.rgba[1], g.rgba[2], g.rgba[3]}},
                     {"collides", g.collides},
                     {"group", group},
                     {"mesh", g.mesh}});
  }
  json& meshes = j["meshes"] = json::array();
  for (const auto& mesh : m.meshes) {
    std::vector<std::uint32_t> faces(mesh.faces.begin(), mesh.faces.end());
    meshes.push_back({{"name", mesh.name},
                      {"vertex_count", mesh.vertices.size() / 3},
                      {"face_count", mesh.faces.size() / 3},
                      {"vertices", base64(mesh.vertices.data(), mesh.vertices.size() * sizeof(float))},
                      {"faces", base64(faces.data(), faces.size() * sizeof(std::uint32_t))}});
  }
  return j;
}

json state_json(const runtime::SessionSnapshot& s, std::uint64_t seq, int clients) {
  json j;
  j["type"] = "state";
  j["seq"] = seq;
  j["t"] = r5(s.t);
  j["episode"] = s.episode;
  j["mode"] = runtime::mode_name(s.mode);
  j["task"] = s.task;
  j["base"] = {{"pos", vec(s.base_pos)},       {"quat", quat(s.base_quat)},
               {"lin_vel", vec(s.base_lin_vel)}, {"ang_vel", vec(s.base_ang_vel)},
               {"heading_vel", vec(s.heading_vel)}, {"height", r5(s.base_height)},
               {"tilt", r5(s.tilt)}};
  j["com"] = vec(s.com);
  j["joints"] = {{"q", list(s.q)}, {"dq", list(s.dq)}, {"tau", list(s.tau)}};
  j["gains"] = {{"kp_max", r5(s.kp_max)}, {"kd_min", r5(s.kd_min)}};
  json pos = json::array(), rot = json::array();
  for (size_t b = 0; b < s.body_pos.size(); ++b) {
    for (int k = 0; k < 3; ++k) pos.push_back(r5(s.body_pos[b][k]));
    const auto& q = s.body_quat[b];
    for (double v : {q.w(), q.x(), q.y(), q.z()}) rot.push_back(r5(v));
  }
  j["bodies"] = {{"pos", std::move(pos)}, {"quat", std::move(rot)}};
  json contacts = json::array();
  for (const auto& c : s.contacts)
    contacts.push_back({r5(c.pos.x()), r5(c.pos.y()), r5(c.pos.z()), r5(c.force.x()), r5(c.force.y()), r5(c.force.z())});
  j["contacts"] = std::move(contacts);
  j["foot_force_z"] = {r5(s.foot_force_z[0]), r5(s.foot_force_z[1])};
  j["command"] = {{"requested", vec(s.command)}, {"applied", vec(s.command_applied)}};
  j["steps_taken"] = s.steps_taken;
  j["timing"] = {{"tick_us", r5(s.tick_us)},
                 {"tick_p50_us", r5(s.tick_p50_us)},
                 {"tick_p99_us", r5(s.tick_p99_us)},
                 {"real_time_factor", r5(s.real_time_factor)}};
  j["clients"] = clients;
  return j;
}

bool token_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

json handle_message(std::string_view text, runtime::Session& session, bool& authorized, const std::string& token) {
  if (text.size() > kMaxMessageBytes) return error(fmt::format("message longer than {} bytes", kMaxMessageBytes), nullptr);
  json msg = json::parse(text.begin(), text.end(), nullptr, false);
  if (msg.is_discarded()) return error("bad JSON", nullptr);
  if (!msg.is_object()) return error("a message must be a JSON object", nullptr);
  json id = msg.contains("id") ? msg["id"] : json(nullptr);
  if (!id.is_null() && !id.is_number_integer() && !id.is_string()) id = nullptr;
  if (!msg.contains("op") || !msg["op"].is_string()) return error("'op' must be a string", id);
  const std::string op = msg["op"].get<std::string>();

  // A number field: present and finite; `fallback` when absent (NaN: required).
  std::string why;
  auto number = [&](const char* key, double fallback) -> double {
    if (!msg.contains(key)) {
      if (std::isnan(fallback)) why = fmt::format("'{}' is required", key);
      return fallback;
    }
    const json& v = msg[key];
    if (!v.is_number()) {
      why = fmt::format("'{}' must be a number", key);
      return 0.0;
    }
    const double x = v.get<double>();
    if (!std::isfinite(x)) why = fmt::format("'{}' must be finite", key);
    return x;
  };

  json reply{{"type", "reply"}, {"op", op}, {"ok", true}};
  if (!id.is_null()) reply["id"] = id;
  if (op == "ping") return reply;
  if (op == "auth") {
    if (!msg.contains("token") || !msg["token"].is_string()) return error("'token' must be a string", id, op);
    if (token.empty()) return reply;  // no token needed
    if (!token_equal(msg["token"].get<std::string>(), token)) return error("wrong token", id, op);
    authorized = true;
    return reply;
  }
  if (op != "velocity" && op != "task" && op != "push" && op != "estop" && op != "reset")
    return error(fmt::format("unknown op (known: velocity, task, push, estop, reset, auth, ping)"), id, op);
  if (!authorized && msg.contains("token") && msg["token"].is_string() && !token.empty() &&
      token_equal(msg["token"].get<std::string>(), token))
    authorized = true;
  // Without authorization a client is read-only, for every command (the e-stop included).
  if (!authorized) return error("not authorized: this server needs a token for commands (read-only stream)", id, op);

  std::string refused;
  if (op == "velocity") {
    const runtime::CommandLimits lim = session.limits();
    const double vx = number("vx", 0.0), vy = number("vy", 0.0), wz = number("wz", 0.0);
    if (!why.empty()) return error(why, id, op);
    const double limits[3] = {lim.max_vx, lim.max_vy, lim.max_wz};
    const double values[3] = {vx, vy, wz};
    const char* names[3] = {"vx", "vy", "wz"};
    Eigen::Vector3d c;
    bool clamped = false;
    for (int i = 0; i < 3; ++i) {
      if (std::abs(values[i]) > kVelocityRangeFactor * limits[i] && std::abs(values[i]) > 1e-12)
        return error(fmt::format("'{}' = {} is out of range (limit {}; more than {}x the limit is refused)", names[i],
                                 values[i], limits[i], kVelocityRangeFactor),
                     id, op);
      c[i] = std::clamp(values[i], -limits[i], limits[i]);
      clamped |= c[i] != values[i];
    }
    refused = session.set_velocity(c);
    reply["command"] = {c.x(), c.y(), c.z()};
    reply["clamped"] = clamped;
  } else if (op == "task") {
    if (!msg.contains("task") || !msg["task"].is_string()) return error("'task' must be a string", id, op);
    refused = session.set_task(msg["task"].get<std::string>());
  } else if (op == "push") {
    const double dv = number("dv", 0.3);
    if (!why.empty()) return error(why, id, op);
    refused = session.push(dv);
    reply["dv"] = dv;
  } else if (op == "estop") {
    refused = session.estop();
  } else if (op == "reset") {
    refused = session.reset();
  }
  if (!refused.empty()) return error(refused, id, op);
  return reply;
}

}  // namespace oh::server
