// MuJoCo-3 compatibility layer: makes MJCF written for MuJoCo 3.x (and URDF) compile in Debian's
// MuJoCo 2.2.2 without touching the files on disk.
//
// The layer reads the model with tinyxml2, inlines <include>, makes every asset path absolute, rewrites
// the MuJoCo-3-only syntax into equivalent 2.2.2 syntax (each change is logged with spdlog at info and
// returned as one human-readable line), and compiles the result from memory through an mjVFS. Syntax
// that it does not know and that 2.2.2 rejects stops the load with a ModelError naming the file, the line,
// the element and the attribute.
//
// Rewrites (MuJoCo 3 semantics from the MuJoCo 3.x documentation, "XML Reference", and the MuJoCo source
// at github.com/google-deepmind/mujoco, src/xml/xml_native_reader.cc, src/user/user_api.cc and
// src/engine/engine_setconst.c):
//   - compiler autolimits defaults to "true" (MuJoCo 3 default) unless the file sets it;
//   - compiler assetdir becomes meshdir/texturedir;
//   - attributes without effect on dynamics are dropped (material metallic/roughness, mesh/texture
//     content_type, option ls_iterations/ls_tolerance, flag eulerdamp/island/autoreset, visual-only
//     camera/light/visual attributes, ...);
//   - option integrator="implicitfast" becomes "implicit";
//   - <frame> is composed into its children and removed;
//   - equality <connect site1 site2> becomes body1/body2/anchor;
//   - joint actuatorfrcrange becomes forcerange/forcelimited on the actuators driving the joint;
//   - <position>/<intvelocity> with kv, dampratio, timeconst or inheritrange (also inherited from
//     default classes) become <general>; dampratio is resolved into kv with MuJoCo 3's formula
//     kv = dampratio * 2 * sqrt(kp * sum_dof(dof_M0 / moment^2)) from a first compile;
//   - body gravcomp="0" is dropped (non-zero gravcomp is an error);
//   - sensor <jointactuatorfrc> becomes <actuatorfrc> of the actuator driving the joint;
//   - multi-line numeric attributes get their whitespace collapsed;
//   - <size nconmax njmax> get values large enough for a humanoid when the model sets none;
//   - optionally a floor (plane, builtin checker texture) and a light are added.
#pragma once

#include "model/model.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace oh::model::compat {

/// Options of the compatibility layer.
struct Options {
  bool add_floor_if_missing = true;  ///< add a ground plane and a light when the world has no plane/hfield
};

/// Speed and torque limits read from a URDF <limit> element (0 when absent).
struct UrdfJointLimits {
  double velocity = 0.0;  ///< [rad/s or m/s]
  double effort = 0.0;    ///< [N m or N]
};

/// What the layer produced: the MJCF text that MuJoCo 2.2.2 compiled, the compiled model, and the list of
/// rewrites applied (one human-readable line each, "file: <element name=..> what -> what").
struct Result {
  std::string xml;                                ///< final MJCF text compiled by MuJoCo 2.2.2
  std::vector<std::string> rewrites;              ///< one line per change, in the order applied
  std::shared_ptr<mjModel_> mj;                   ///< compiled model (freed with mj_deleteModel)
  std::map<std::string, UrdfJointLimits> urdf_limits;  ///< URDF only: limits per joint name
};

/// Loads an MJCF file through the compatibility layer (see the file comment) and compiles it with
/// MuJoCo 2.2.2 from memory. The file and everything it includes are only read.
/// Throws ModelError (one line, naming file, line, element and attribute where known) for a missing or
/// unreadable file, malformed XML, MuJoCo-3 syntax without a 2.2.2 equivalent (e.g. non-zero gravcomp),
/// syntax rejected by MuJoCo 2.2.2, a MuJoCo compile error, or non-finite inertial data.
/// Source: MuJoCo 3.x XML reference; MuJoCo 2.2.2 mj_loadXML/mjVFS API.
Result load_mjcf(const std::filesystem::path& file, const Options& options = {});

/// Same as load_mjcf() for MJCF text held in memory. `virtual_file` names the text in messages, and
/// its directory is where relative <include> files and assets are looked up (it need not exist).
/// Throws ModelError as load_mjcf().
Result load_mjcf_string(const std::string& xml, const std::filesystem::path& virtual_file,
                        const Options& options = {});

/// Loads a URDF file: resolves mesh paths (relative, package://, or moved next to the URDF), compiles it
/// with MuJoCo 2.2.2's URDF importer (balanceinertia, visual geoms kept, static bodies not fused; an
/// existing <mujoco><compiler> extension is honoured), converts it to MJCF (mj_saveLastXML), gives the
/// root body a free joint placed so that the lowest collision geometry touches z = 0, adds a <motor> with
/// ctrlrange = +-effort for every joint with a non-zero effort limit, adds a floor, and compiles the MJCF
/// through load_mjcf_string(). Result::urdf_limits holds the URDF velocity/effort limits per joint.
/// Throws ModelError as load_mjcf(), and for a mesh file that cannot be found.
/// Source: MuJoCo 2.2.2 URDF importer (src/xml/xml_urdf.cc); URDF spec (wiki.ros.org/urdf/XML).
Result load_urdf(const std::filesystem::path& file, const Options& options = {});

/// Compiles MJCF or URDF text with MuJoCo 2.2.2 from memory (mj_defaultVFS, mj_makeEmptyFileVFS,
/// mj_loadXML, mj_deleteVFS) with no rewriting. `virtual_file` sets the directory relative asset paths
/// are resolved against and names the text in messages. Calls into MuJoCo's XML compiler are serialized.
/// Throws ModelError with MuJoCo's message collapsed to one line.
std::shared_ptr<mjModel_> compile_string(const std::string& xml, const std::filesystem::path& virtual_file);

/// Collapses runs of whitespace (including newlines) into single spaces and trims both ends.
std::string collapse_whitespace(const std::string& text);

}  // namespace oh::model::compat
