// `humanoid inspect`: load a robot and print its model summary and detected profile.
#include "apps/humanoid/commands.hpp"
#include "model/model.hpp"
#include "model/profile.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <memory>

namespace oh::app {
namespace {

int g_exit = 0;

const char* joint_type_name(model::JointType t) {
  switch (t) {
    case model::JointType::kFree: return "free";
    case model::JointType::kBall: return "ball";
    case model::JointType::kPrismatic: return "prismatic";
    case model::JointType::kRevolute: return "revolute";
  }
  return "unknown";
}

const char* actuator_kind_name(model::Actuator::Kind k) {
  switch (k) {
    case model::Actuator::Kind::kMotor: return "motor";
    case model::Actuator::Kind::kPosition: return "position";
    case model::Actuator::Kind::kVelocity: return "velocity";
    case model::Actuator::Kind::kGeneral: return "general";
  }
  return "unknown";
}

/// JSON has no infinity: unbounded ranges are written as null.
nlohmann::json range(bool limited, double lo, double hi) {
  if (!limited) return nullptr;
  return nlohmann::json::array({lo, hi});
}

nlohmann::json model_json(const model::Model& m) {
  nlohmann::json j;
  j["name"] = m.name;
  j["source"] = m.source.string();
  j["mass_kg"] = m.total_mass();
  j["nq"] = m.nq;
  j["nv"] = m.nv;
  j["nu"] = m.nu;
  j["timestep_s"] = m.timestep;
  j["floating_base"] = m.has_floating_base();
  j["nbody"] = static_cast<int>(m.bodies.size());
  j["ngeom"] = static_cast<int>(m.geoms.size());
  auto& joints = j["joints"] = nlohmann::json::array();
  for (const auto& jt : m.joints) {
    nlohmann::json e{{"name", jt.name}, {"type", joint_type_name(jt.type)}, {"body", m.bodies[jt.body].name},
                     {"q_index", jt.q_index}, {"v_index", jt.v_index}};
    e["limits"] = range(jt.limited, jt.lower, jt.upper);
    e["effort_limit"] = jt.effort_limit > 0 ? nlohmann::json(jt.effort_limit) : nlohmann::json(nullptr);
    e["velocity_limit"] = jt.velocity_limit > 0 ? nlohmann::json(jt.velocity_limit) : nlohmann::json(nullptr);
    e["armature"] = jt.armature;
    e["damping"] = jt.damping;
    joints.push_back(std::move(e));
  }
  auto& acts = j["actuators"] = nlohmann::json::array();
  for (const auto& a : m.actuators) {
    nlohmann::json e{{"name", a.name},
                     {"joint", a.joint >= 0 ? nlohmann::json(m.joints[a.joint].name) : nlohmann::json(nullptr)},
                     {"kind", actuator_kind_name(a.kind)},
                     {"gear", a.gear},
                     {"kp", a.kp},
                     {"kv", a.kv}};
    e["ctrlrange"] = range(a.ctrl_limited, a.ctrl_lower, a.ctrl_upper);
    e["forcerange"] = range(a.force_limited, a.force_lower, a.force_upper);
    acts.push_back(std::move(e));
  }
  j["keyframes"] = nlohmann::json::array();
  for (const auto& k : m.keyframes) j["keyframes"].push_back(k.name);
  j["compat_rewrites"] = m.compat_rewrites;
  return j;
}

void print_summary(const model::Model& m, std::ostream& os) {
  os << fmt::format("robot      {}\nsource     {}\n", m.name, m.source.string());
  os << fmt::format("mass       {:.4f} kg\nnq/nv/nu   {}/{}/{}\ntimestep   {} s\nbase       {}\n", m.total_mass(), m.nq,
                    m.nv, m.nu, m.timestep, m.has_floating_base() ? "floating" : "fixed");
  os << fmt::format("bodies {}  joints {}  geoms {}  meshes {}  keyframes {}\n", m.bodies.size(), m.joints.size(),
                    m.geoms.size(), m.meshes.size(), m.keyframes.size());
  os << "\njoints\n";
  for (const auto& jt : m.joints) {
    const int a = m.actuator_for_joint(static_cast<int>(&jt - m.joints.data()));
    std::string lim = jt.limited ? fmt::format("[{:+.3f}, {:+.3f}]", jt.lower, jt.upper) : "unlimited";
    os << fmt::format("  {:<32} {:<9} {:<20} {}\n", jt.name, joint_type_name(jt.type), lim,
                      a >= 0 ? fmt::format("{} ({})", m.actuators[a].name, actuator_kind_name(m.actuators[a].kind))
                             : std::string("-"));
  }
  if (!m.compat_rewrites.empty()) {
    os << "\nMuJoCo-3 compatibility rewrites (" << m.compat_rewrites.size() << ")\n";
    for (const auto& r : m.compat_rewrites) os << "  " << r << "\n";
  }
}

nlohmann::json names(const model::Model& m, const std::vector<int>& joints) {
  nlohmann::json a = nlohmann::json::array();
  for (int j : joints) a.push_back(m.joints[j].name);
  return a;
}

std::string frame_name(const model::Model& m, int f) { return f >= 0 ? m.frames[f].name : std::string(); }

nlohmann::json profile_json(const model::Model& m, const model::Profile& p) {
  nlohmann::json j;
  auto body = [&](int b) { return b >= 0 ? nlohmann::json(m.bodies[b].name) : nlohmann::json(nullptr); };
  j["base"] = body(p.base_body);
  j["pelvis"] = body(p.pelvis_body);
  j["torso"] = body(p.torso_body);
  j["head_body"] = body(p.head_body);
  auto foot = [&](const model::Foot& f) {
    return nlohmann::json{{"body", m.bodies[f.body].name},
                          {"frame", frame_name(m, f.frame)},
                          {"sole_center", {f.sole_center.x(), f.sole_center.y(), f.sole_center.z()}},
                          {"length_m", f.length},
                          {"width_m", f.width}};
  };
  j["feet"] = {{"left", foot(p.left_foot)}, {"right", foot(p.right_foot)}};
  j["hands"] = {{"left", p.left_hand_frame >= 0 ? nlohmann::json(frame_name(m, p.left_hand_frame)) : nlohmann::json(nullptr)},
                {"right", p.right_hand_frame >= 0 ? nlohmann::json(frame_name(m, p.right_hand_frame)) : nlohmann::json(nullptr)},
                {"left_joints", names(m, p.left_hand_joints)},
                {"right_joints", names(m, p.right_hand_joints)}};
  j["legs"] = {{"left", names(m, p.left_leg.joints)}, {"right", names(m, p.right_leg.joints)}};
  j["arms"] = {{"left", p.left_arm ? names(m, p.left_arm->joints) : nlohmann::json::array()},
               {"right", p.right_arm ? names(m, p.right_arm->joints) : nlohmann::json::array()}};
  j["waist"] = names(m, p.waist_joints);
  j["head"] = names(m, p.head_joints);
  j["nominal_source"] = p.nominal_source;
  j["leg_length_m"] = p.leg_length;
  j["com_height_m"] = p.com_height;
  j["overrides_applied"] = p.overrides_applied;
  return j;
}

}  // namespace

int exit_code() { return g_exit; }
void set_exit_code(int code) { g_exit = code; }

void run_guarded(const std::function<int()>& body) {
  try {
    set_exit_code(body());
  } catch (const model::ModelError& e) {
    std::cerr << "error: " << e.what() << "\n";
    set_exit_code(2);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    set_exit_code(2);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    set_exit_code(1);
  }
}

void add_inspect(CLI::App& app) {
  struct Opts {
    std::string robot;
    std::string profile;
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Load a robot (MJCF or URDF) and print its model summary, detected profile and compat rewrites");
  cmd->add_option("model", opts->robot,
                  "Robot: an MJCF/URDF file, a directory holding scene.xml, or a name such as g1 or h1 "
                  "(default: the built-in reference humanoid)");
  cmd->add_option("--profile", opts->profile, "Profile YAML overriding the auto-detected profile");
  cmd->add_flag("--json", opts->json, "Print the summary as JSON");
  cmd->callback([opts] {
    run_guarded([&] {
      const auto path = model::resolve_robot(opts->robot);
      const auto robot = model::load(path);
      const auto profile = model::profile_for(
          robot.model, opts->profile.empty() ? std::nullopt : std::optional<std::filesystem::path>(opts->profile));
      if (opts->json) {
        nlohmann::json j = model_json(robot.model);
        j["profile"] = profile_json(robot.model, profile);
        std::cout << j.dump(2) << "\n";
      } else {
        print_summary(robot.model, std::cout);
        std::cout << "\nprofile\n" << model::describe_profile(robot.model, profile);
      }
      return 0;
    });
  });
}

}  // namespace oh::app
