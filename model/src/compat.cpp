// MuJoCo-3 compatibility layer for MuJoCo 2.2.2: see model/compat.hpp.
//
// MuJoCo 3 semantics followed here come from the MuJoCo 3.x XML reference and source
// (github.com/google-deepmind/mujoco): src/xml/xml_native_reader.cc (OneActuator, frames),
// src/user/user_api.cc (mjs_setToPosition), src/user/user_objects.cc (ResolveOrientation, inheritrange),
// src/engine/engine_setconst.c (dampratio). MuJoCo 2.2.2 behaviour from the 2.2.2 tag of the same repo.
#include "model/compat.hpp"
#include "model/src/compat_internal.hpp"

#include <mujoco/mujoco.h>
#include <spdlog/spdlog.h>
#include <tinyxml2.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

namespace oh::model::compat {

namespace fs = std::filesystem;
using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

// ------------------------------------------------------------------------------------------------
// Small helpers shared with urdf.cpp (declared in compat_internal.hpp).

std::mutex& mujoco_compiler_mutex() {
  static std::mutex m;
  return m;
}

std::string collapse_whitespace(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
  }
  return out;
}

std::string one_line(const std::string& text) { return collapse_whitespace(text); }

std::vector<double> parse_numbers(const char* text) {
  std::vector<double> out;
  if (!text) return out;
  const char* p = text;
  const char* end = text + std::strlen(text);
  while (p < end) {
    while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
    if (p >= end) break;
    if (*p == '+') ++p;
    double v = 0.0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) break;  // not a number: stop (MuJoCo's parser reports malformed numbers itself)
    out.push_back(v);
    p = next;
  }
  return out;
}

std::string fmt_num(double v) {
  if (v == 0.0) return "0";  // avoid "-0"
  return fmt::format("{}", v);
}

std::string fmt_nums(const double* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s.push_back(' ');
    s += fmt_num(v[i]);
  }
  return s;
}

std::string read_text_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw ModelError(fmt::format("{}: no such file", file.string()));
  if (fs::is_directory(file, ec)) throw ModelError(fmt::format("{}: is a directory, not a model file", file.string()));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError(fmt::format("{}: cannot open file for reading", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void parse_xml(XMLDocument& doc, const std::string& text, const std::string& file) {
  if (doc.Parse(text.data(), text.size()) != tinyxml2::XML_SUCCESS) {
    // ErrorStr() is "Error=<name> ErrorID=<n> (0x..) Line number=<l>: <detail>"; keep the detail
    std::string what = doc.ErrorStr() ? doc.ErrorStr() : "";
    if (auto p = what.find("Line number="); p != std::string::npos)
      if (auto q = what.find(": ", p); q != std::string::npos) what = what.substr(q + 2);
    if (what.rfind("Error=", 0) == 0) what.clear();  // no detail beyond the error name
    throw ModelError(fmt::format("{}:{}: malformed XML ({}){}{}", file, doc.ErrorLineNum(), doc.ErrorName(),
                                 what.empty() ? "" : ": ", one_line(what)));
  }
  if (!doc.RootElement()) throw ModelError(fmt::format("{}: malformed XML: no root element", file));
}

std::string print_xml(const XMLDocument& doc) {
  tinyxml2::XMLPrinter printer;
  doc.Print(&printer);
  return std::string(printer.CStr());
}

mjModel* compile_raw(const std::string& xml, const fs::path& virtual_file, std::string& error) {
  error.clear();
  if (xml.empty()) {
    error = "empty model text";
    return nullptr;
  }
  // The VFS strips directories and lower-cases names when it looks files up; the full path we pass to
  // mj_loadXML still sets the model directory that relative asset paths are resolved against.
  const fs::path dir = virtual_file.has_parent_path() ? virtual_file.parent_path() : fs::path(".");
  std::string base = virtual_file.filename().string();
  if (base.empty()) base = "model.xml";
  const std::string vname = (dir / ("oh-compat-vfs-" + base)).string();
  if (base.size() + 20 >= static_cast<size_t>(mjMAXVFSNAME)) {
    error = "file name too long for MuJoCo's virtual file system";
    return nullptr;
  }
  auto vfs = std::make_unique<mjVFS>();  // ~2 MB: keep it off the stack
  mj_defaultVFS(vfs.get());
  if (mj_makeEmptyFileVFS(vfs.get(), vname.c_str(), static_cast<int>(xml.size())) != 0) {
    error = "could not create the in-memory model file";
    return nullptr;
  }
  std::memcpy(vfs->filedata[vfs->nfile - 1], xml.data(), xml.size());
  char err[2048] = {0};
  mjModel* m = mj_loadXML(vname.c_str(), vfs.get(), err, sizeof(err));
  mj_deleteVFS(vfs.get());
  if (!m) {
    error = err[0] ? err : "MuJoCo could not compile the model";
  } else if (err[0]) {
    spdlog::warn("MuJoCo 2.2.2 warning for {}: {}", virtual_file.string(), one_line(err));
  }
  return m;
}

std::shared_ptr<mjModel_> compile_string(const std::string& xml, const fs::path& virtual_file) {
  std::string error;
  mjModel* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(mujoco_compiler_mutex());
    m = compile_raw(xml, virtual_file, error);
  }
  if (!m) throw ModelError(fmt::format("{}: MuJoCo 2.2.2: {}", virtual_file.string(), one_line(error)));
  return std::shared_ptr<mjModel_>(m, [](mjModel* p) { mj_deleteModel(p); });
}

// ------------------------------------------------------------------------------------------------
namespace {

using Vec3 = Eigen::Vector3d;
using Quat = Eigen::Quaterniond;

bool is(const XMLElement* e, const char* tag) { return e && std::strcmp(e->Name(), tag) == 0; }

std::vector<XMLElement*> children(XMLElement* parent, const char* tag = nullptr) {
  std::vector<XMLElement*> out;
  for (XMLElement* c = parent->FirstChildElement(tag); c; c = c->NextSiblingElement(tag)) out.push_back(c);
  return out;
}

void preorder(XMLElement* e, std::vector<XMLElement*>& out) {
  out.push_back(e);
  for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) preorder(c, out);
}

const std::set<std::string>& actuator_tags() {
  static const std::set<std::string> tags = {"general",  "motor",    "position", "velocity", "intvelocity",
                                             "damper",   "cylinder", "muscle",   "adhesion"};
  return tags;
}

// Attributes MuJoCo 3 knows and MuJoCo 2.2.2 does not, that can be dropped without changing the
// dynamics. `only` (when set) is the one value for which dropping is exact (MuJoCo 3's default, which is
// also 2.2.2's behaviour); other values fall through to 2.2.2's parser, which rejects them.
struct Droppable {
  const char* tag;
  const char* attr;
  const char* only;
  const char* why;
};
constexpr Droppable kDroppable[] = {
    {"material", "metallic", nullptr, "PBR rendering parameter"},
    {"material", "roughness", nullptr, "PBR rendering parameter"},
    {"mesh", "content_type", nullptr, "file-type hint; 2.2.2 infers the type from the file extension"},
    {"texture", "content_type", nullptr, "file-type hint"},
    {"texture", "colorspace", nullptr, "rendering only"},
    {"texture", "nchannel", nullptr, "rendering only"},
    {"hfield", "content_type", nullptr, "file-type hint"},
    {"option", "ls_iterations", nullptr, "iteration budget of the CG/Newton line search"},
    {"option", "ls_tolerance", nullptr, "tolerance of the CG/Newton line search"},
    // eulerdamp only matters for integrator="Euler" (see drop_unsupported_attributes): 2.2.2's Euler
    // always integrates joint damping implicitly, MuJoCo 3's default (eulerdamp enabled).
    {"flag", "eulerdamp", nullptr, "only affects integrator=Euler"},
    {"flag", "island", nullptr, "constraint-island decomposition of the solver; same solution"},
    {"flag", "autoreset", nullptr, "resets mjData after a numerical instability; not part of the dynamics"},
    {"compiler", "saveinertial", nullptr, "only affects mj_saveXML output"},
    {"light", "type", nullptr, "rendering only"},
    {"light", "bulbradius", nullptr, "rendering only"},
    {"light", "intensity", nullptr, "rendering only"},
    {"light", "range", nullptr, "rendering only"},
    {"light", "texture", nullptr, "rendering only"},
    {"light", "softness", nullptr, "rendering only"},
    {"camera", "projection", nullptr, "rendering only"},
    {"camera", "orthographic", nullptr, "rendering only"},
    {"camera", "resolution", nullptr, "rendering only"},
    {"camera", "output", nullptr, "rendering only"},
    {"camera", "focal", nullptr, "rendering only"},
    {"camera", "focalpixel", nullptr, "rendering only"},
    {"camera", "principal", nullptr, "rendering only"},
    {"camera", "principalpixel", nullptr, "rendering only"},
    {"camera", "sensorsize", nullptr, "rendering only"},
    {"freejoint", "align", "false", "MuJoCo 3 default; body frame unchanged"},
    {"joint", "actuatorgravcomp", "false", "MuJoCo 3 default"},
    {"general", "actearly", "false", "MuJoCo 3 default"},
    {"position", "actearly", "false", "MuJoCo 3 default"},
    {"compiler", "alignfree", "false", "MuJoCo 3 default; body frames unchanged"},
};

// Attributes MuJoCo 2.2.2 accepts under <visual> (2.2.2 schema). Anything else there is a MuJoCo 3
// rendering option: <visual> has no effect on the dynamics, so unknown attributes are dropped.
const std::map<std::string, std::set<std::string>>& visual_schema_222() {
  static const std::map<std::string, std::set<std::string>> s = {
      {"global", {"fovy", "ipd", "azimuth", "elevation", "linewidth", "glow", "offwidth", "offheight"}},
      {"quality", {"shadowsize", "offsamples", "numslices", "numstacks", "numquads"}},
      {"headlight", {"ambient", "diffuse", "specular", "active"}},
      {"map",
       {"stiffness", "stiffnessrot", "force", "torque", "alpha", "fogstart", "fogend", "znear", "zfar", "haze",
        "shadowclip", "shadowscale", "actuatortendon"}},
      {"scale",
       {"forcewidth", "contactwidth", "contactheight", "connect", "com", "camera", "light", "selectpoint",
        "jointlength", "jointwidth", "actuatorlength", "actuatorwidth", "framelength", "framewidth", "constraint",
        "slidercrank"}},
      {"rgba",
       {"fog", "haze", "force", "inertia", "joint", "actuator", "actuatornegative", "actuatorpositive", "com",
        "camera", "light", "selectpoint", "connect", "contactpoint", "contactforce", "contactfriction",
        "contacttorque", "contactgap", "rangefinder", "constraint", "slidercrank", "crankbroken"}},
  };
  return s;
}

// MuJoCo 3's actuator state while reading defaults and elements (xml_native_reader.cc OneActuator and
// user_api.cc mjs_setTo*): one actuator default per class, modified by each actuator-typed child of
// <default> in order, then copied into the element and modified by the element itself.
struct ActState {
  std::array<double, 10> gainprm{1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::array<double, 10> biasprm{};
  std::array<double, 10> dynprm{1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::string gaintype = "fixed", biastype = "none", dyntype = "none";
  double inheritrange = 0.0;
  double gear = 1.0;
  std::optional<std::array<double, 2>> forcerange;
  std::string forcelimited = "auto";
  bool mj3 = false;                                   // a MuJoCo-3-only attribute contributed
  std::vector<std::pair<std::string, std::string>> mj3_attrs;  // for the rewrite message, last wins

  void remember(const std::string& k, const std::string& v) {
    for (auto& [key, val] : mj3_attrs)
      if (key == k) {
        val = v;
        return;
      }
    mj3_attrs.emplace_back(k, v);
  }

  void apply(const XMLElement* e) {
    const std::string tag = e->Name();
    auto num = [&](const char* a) -> std::optional<double> {
      const auto v = parse_numbers(e->Attribute(a));
      if (v.empty()) return std::nullopt;
      return v[0];
    };
    auto read_array = [&](const char* a, std::array<double, 10>& arr) {
      const auto v = parse_numbers(e->Attribute(a));
      for (size_t i = 0; i < v.size() && i < arr.size(); ++i) arr[i] = v[i];
    };
    if (auto g = num("gear")) gear = *g;
    if (const auto fr = parse_numbers(e->Attribute("forcerange")); fr.size() >= 2) forcerange = {fr[0], fr[1]};
    if (const char* fl = e->Attribute("forcelimited")) forcelimited = fl;

    if (tag == "general") {
      if (const char* v = e->Attribute("gaintype")) gaintype = v;
      if (const char* v = e->Attribute("biastype")) biastype = v;
      if (const char* v = e->Attribute("dyntype")) dyntype = v;
      read_array("gainprm", gainprm);
      read_array("biasprm", biasprm);
      read_array("dynprm", dynprm);
    } else if (tag == "motor") {
      gainprm[0] = 1;
      dyntype = "none";
      gaintype = "fixed";
      biastype = "none";
    } else if (tag == "position" || tag == "intvelocity") {
      double kp = gainprm[0];
      if (auto v = num("kp")) {
        kp = *v;
        remember("kp", e->Attribute("kp"));
      }
      if (auto v = num("kv")) {
        biasprm[2] = -*v;
        mj3 = true;
        remember("kv", e->Attribute("kv"));
      }
      if (auto v = num("dampratio")) {
        biasprm[2] = *v;  // MuJoCo 3 stores a damping ratio as a positive biasprm[2]
        mj3 = true;
        remember("dampratio", e->Attribute("dampratio"));
      }
      if (auto v = num("timeconst"); v && tag == "position") {
        dynprm[0] = *v;
        dyntype = *v == 0 ? "none" : "filterexact";
        mj3 = true;
        remember("timeconst", e->Attribute("timeconst"));
      }
      if (auto v = num("inheritrange")) {
        inheritrange = *v;
        mj3 = true;
        remember("inheritrange", e->Attribute("inheritrange"));
      }
      gainprm[0] = kp;
      biasprm[1] = -kp;
      gaintype = "fixed";
      biastype = "affine";
      if (tag == "intvelocity") dyntype = "integrator";
    } else if (tag == "velocity") {
      const double kv = num("kv").value_or(gainprm[0]);
      biasprm.fill(0.0);
      gainprm[0] = kv;
      biasprm[2] = -kv;
      dyntype = "none";
      gaintype = "fixed";
      biastype = "affine";
    } else if (tag == "damper") {
      const double kv = num("kv").value_or(gaintype == "affine" ? -gainprm[2] : 0.0);
      gainprm.fill(0.0);
      gainprm[2] = -kv;
      dyntype = "none";
      gaintype = "affine";
      biastype = "none";
    }
    // cylinder, muscle, adhesion: no MuJoCo-3-only attributes; MuJoCo 2.2.2 handles them itself.
  }
};

std::string trimmed_prm(const std::array<double, 10>& prm, int min_count) {
  int n = static_cast<int>(prm.size());
  while (n > min_count && prm[n - 1] == 0.0) --n;
  return fmt_nums(prm.data(), n);
}

struct Origin {
  std::string file;  // full path
  int line = 0;
  std::string tag;   // element name in the file (before any rewrite)
};

struct ActInfo {
  XMLElement* elem = nullptr;
  std::string describe;   // "g1.xml: <position name=x>"
  std::string joint;      // joint/jointinparent target
  ActState state;
  bool converted = false;
  double dampratio = 0.0;  // resolved after the first compile
  double kv = 0.0;
  bool has_kv_from_dampratio = false;
  std::optional<std::array<double, 2>> inherited_range;
};

struct ConnectPatch {
  int eq_index;
  std::string site1, site2, describe;
};

class Translator {
 public:
  Translator(fs::path file, Options options) : file_(std::move(file)), options_(options) {
    main_dir_ = fs::absolute(file_).lexically_normal().parent_path();
  }

  Result run(const std::string& text) {
    parse_xml(doc_, text, file_.string());
    XMLElement* root = doc_.RootElement();
    if (!is(root, "mujoco"))
      throw ModelError(fmt::format("{}:{}: root element is <{}>, expected <mujoco> (MJCF)", file_.string(),
                                   root->GetLineNum(), root->Name()));
    record_origins(root, file_.string());
    std::vector<fs::path> stack{fs::absolute(file_).lexically_normal()};
    inline_includes(root, main_dir_, stack);
    merge_worldbodies();
    read_compiler_settings();
    build_default_classes();
    collapse_numeric_whitespace(root);
    check_finite(root);
    rewrite_compiler();
    drop_unsupported_attributes(root);
    rewrite_option();
    rewrite_size();
    if (XMLElement* wb = root->FirstChildElement("worldbody")) {
      flatten_frames(wb);
      rewrite_bodies(wb);
    }
    rewrite_connect();
    collect_actuators();
    rewrite_actuatorfrcrange();
    rewrite_sensors();
    strip_mj3_defaults();
    if (options_.add_floor_if_missing) add_floor_if_missing();
    return compile();
  }

 private:
  // ---------------------------------------------------------------------------------------------
  // bookkeeping

  void note(std::string line) {
    spdlog::info("compat: {}", line);
    rewrites_.push_back(std::move(line));
  }

  std::string file_name_of(const XMLElement* e) const {
    auto it = origins_.find(e);
    return fs::path(it != origins_.end() ? it->second.file : file_.string()).filename().string();
  }

  /// "g1.xml: <joint name=left_hip>"
  std::string describe(const XMLElement* e, const char* tag = nullptr) const {
    std::string s = file_name_of(e) + ": <" + (tag ? tag : e->Name());
    if (const char* n = e->Attribute("name")) s += fmt::format(" name={}", n);
    else if (const char* c = e->Attribute("class")) s += fmt::format(" class={}", c);
    return s + ">";
  }

  /// "/path/g1.xml:70: <joint name=left_hip>"
  std::string where(const XMLElement* e) const {
    auto it = origins_.find(e);
    const std::string file = it != origins_.end() ? it->second.file : file_.string();
    const int line = it != origins_.end() ? it->second.line : e->GetLineNum();
    const std::string tag = it != origins_.end() && !it->second.tag.empty() ? it->second.tag : e->Name();
    std::string s = fmt::format("{}:{}: <{}", file, line, tag);
    if (const char* n = e->Attribute("name")) s += fmt::format(" name={}", n);
    return s + ">";
  }

  [[noreturn]] void fail(const XMLElement* e, const std::string& what) const {
    throw ModelError(fmt::format("{}: {}", where(e), what));
  }

  void record_origins(XMLElement* e, const std::string& file) {
    std::vector<XMLElement*> all;
    preorder(e, all);
    for (XMLElement* x : all) origins_[x] = {file, x->GetLineNum(), x->Name()};
  }

  XMLNode* clone_into_doc(const XMLNode* src, const std::unordered_map<const XMLElement*, Origin>& src_origins) {
    XMLNode* n = src->ShallowClone(&doc_);
    if (const XMLElement* se = src->ToElement()) {
      auto it = src_origins.find(se);
      if (it != src_origins.end()) origins_[n->ToElement()] = it->second;
    }
    for (const XMLNode* c = src->FirstChild(); c; c = c->NextSibling()) n->InsertEndChild(clone_into_doc(c, src_origins));
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // <include>: inlined recursively; a relative path is looked up next to the including file first,
  // then next to the main model file (MuJoCo's own rule).

  void inline_includes(XMLElement* parent, const fs::path& dir, std::vector<fs::path>& stack) {
    for (XMLElement* c = parent->FirstChildElement(); c;) {
      XMLElement* next = c->NextSiblingElement();
      if (!is(c, "include")) {
        inline_includes(c, dir, stack);
        c = next;
        continue;
      }
      const char* f = c->Attribute("file");
      if (!f || !*f) fail(c, "<include> without a file attribute");
      fs::path inc = fs::path(f);
      if (inc.is_relative()) {
        fs::path a = dir / inc, b = main_dir_ / inc;
        inc = fs::exists(a) || !fs::exists(b) ? a : b;
      }
      inc = fs::absolute(inc).lexically_normal();
      if (!fs::exists(inc)) fail(c, fmt::format("included file '{}' not found ({})", f, inc.string()));
      if (std::find(stack.begin(), stack.end(), inc) != stack.end())
        fail(c, fmt::format("recursive <include> of '{}'", inc.string()));
      if (stack.size() > 32) fail(c, "includes nested more than 32 deep");

      XMLDocument sub;
      parse_xml(sub, read_text_file(inc), inc.string());
      XMLElement* sroot = sub.RootElement();
      if (!is(sroot, "mujoco"))
        throw ModelError(fmt::format("{}:{}: included file must have a <mujoco> root element, found <{}>",
                                     inc.string(), sroot->GetLineNum(), sroot->Name()));
      std::unordered_map<const XMLElement*, Origin> sub_origins;
      {
        std::vector<XMLElement*> all;
        preorder(sroot, all);
        for (XMLElement* x : all) sub_origins[x] = {inc.string(), x->GetLineNum(), x->Name()};
      }
      // Insert the included children in place of <include>, then expand includes inside them.
      XMLNode* after = c;
      std::vector<XMLElement*> inserted;
      for (const XMLNode* k = sroot->FirstChild(); k; k = k->NextSibling()) {
        XMLNode* n = clone_into_doc(k, sub_origins);
        parent->InsertAfterChild(after, n);
        after = n;
        if (XMLElement* ne = n->ToElement()) inserted.push_back(ne);
      }
      parent->DeleteChild(c);
      stack.push_back(inc);
      for (XMLElement* ne : inserted) {
        if (is(ne, "include")) {
          // a top-level include inside the included file: expand it in the same parent
          XMLElement* holder = doc_.NewElement("oh-include-holder");
          parent->InsertAfterChild(ne, holder);
          holder->InsertEndChild(ne);
          inline_includes(holder, inc.parent_path(), stack);
          XMLNode* pos = holder;
          while (XMLNode* k = holder->FirstChild()) {
            parent->InsertAfterChild(pos, k);
            pos = k;
          }
          parent->DeleteChild(holder);
        } else {
          inline_includes(ne, inc.parent_path(), stack);
        }
      }
      stack.pop_back();
      c = next;
    }
  }

  /// MuJoCo appends the contents of every <worldbody> (e.g. one from an included robot file and one
  /// from the scene) to the one world body; do the same so that later passes see a single tree.
  void merge_worldbodies() {
    auto wbs = children(doc_.RootElement(), "worldbody");
    for (size_t i = 1; i < wbs.size(); ++i) {
      while (XMLNode* k = wbs[i]->FirstChild()) wbs[0]->InsertEndChild(k);
      doc_.RootElement()->DeleteChild(wbs[i]);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // compiler settings and default classes

  void read_compiler_settings() {
    for (XMLElement* c : children(doc_.RootElement(), "compiler")) {
      if (const char* a = c->Attribute("angle")) degree_ = std::string(a) != "radian";
      if (const char* s = c->Attribute("eulerseq")) eulerseq_ = s;
      if (const char* s = c->Attribute("autolimits")) autolimits_ = std::string(s) == "true";
    }
  }

  struct DefClass {
    std::string parent;
    std::vector<XMLElement*> elems;  // the <default> elements defining this class
  };

  void build_default_classes() {
    for (XMLElement* d : children(doc_.RootElement(), "default")) add_default_class(d, "");
    if (!classes_.count("main")) classes_["main"] = {};
  }

  void add_default_class(XMLElement* d, const std::string& parent) {
    const char* c = d->Attribute("class");
    const std::string name = c ? c : "main";
    auto& cls = classes_[name];
    cls.parent = parent.empty() && name != "main" ? "main" : parent;
    if (name == "main") cls.parent.clear();
    cls.elems.push_back(d);
    for (XMLElement* k : children(d, "default")) add_default_class(k, name);
  }

  /// The class of an element that takes defaults: its class attribute, else the childclass of the
  /// nearest enclosing body/frame, else "main".
  std::string class_of(const XMLElement* e) const {
    if (const char* c = e->Attribute("class")) return c;
    for (const XMLNode* p = e->Parent(); p; p = p->Parent()) {
      const XMLElement* pe = p->ToElement();
      if (!pe) break;
      if (const char* cc = pe->Attribute("childclass")) return cc;
    }
    return "main";
  }

  /// Classes from the given one up to "main" (leaf first).
  std::vector<const DefClass*> chain(const std::string& cls) const {
    std::vector<const DefClass*> out;
    std::string c = cls;
    for (int guard = 0; guard < 64 && !c.empty(); ++guard) {
      auto it = classes_.find(c);
      if (it == classes_.end()) {
        if (c == "main") break;
        c = "main";  // unknown class: MuJoCo reports it; resolve against main meanwhile
        continue;
      }
      out.push_back(&it->second);
      c = it->second.parent;
    }
    return out;
  }

  /// The default element for `tag` in the class chain of `e`, nearest first.
  std::vector<XMLElement*> default_elems(const XMLElement* e, const char* tag) const {
    std::vector<XMLElement*> out;
    for (const DefClass* c : chain(class_of(e)))
      for (XMLElement* d : c->elems)
        for (XMLElement* k : children(d, tag)) out.push_back(k);
    return out;
  }

  /// Attribute value from the element or, if absent, from its default classes.
  const char* resolved(const XMLElement* e, const char* attr) const {
    if (const char* v = e->Attribute(attr)) return v;
    for (XMLElement* d : default_elems(e, e->Name()))
      if (const char* v = d->Attribute(attr)) return v;
    return nullptr;
  }

  // ---------------------------------------------------------------------------------------------
  // generic attribute rewrites

  static bool numeric_text(const char* v) {
    for (const char* p = v; *p; ++p)
      if (!std::strchr("0123456789+-.eE \t\r\n", *p)) return false;
    return true;
  }

  void collapse_numeric_whitespace(XMLElement* e) {
    for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a; a = a->Next()) {
      const char* v = a->Value();
      if (!std::strpbrk(v, "\n\r\t") || !numeric_text(v)) continue;
      const std::string collapsed = collapse_whitespace(v);
      note(fmt::format("{} {}: multi-line numeric array collapsed to one line", describe(e), a->Name()));
      e->SetAttribute(a->Name(), collapsed.c_str());
    }
    for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) collapse_numeric_whitespace(c);
  }

  /// NaN or infinite numbers (masses, inertias, poses, ...) stop the load before MuJoCo sees them:
  /// 2.2.2 only warns about NaN and then reports a misleading error, or compiles nonsense.
  void check_finite(XMLElement* e) {
    for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a; a = a->Next()) {
      const char* v = a->Value();
      if (!std::strpbrk(v, "nNiI")) continue;  // fast path: no "nan"/"inf" in the text
      std::istringstream tokens(v);
      std::string tok;
      bool numeric = true, finite = true;
      while (tokens >> tok) {
        // The whole token must be a number: names such as "nanny" or "infinite" are not.
        char* end = nullptr;
        const double x = std::strtod(tok.c_str(), &end);
        if (end != tok.c_str() + tok.size()) {
          numeric = false;
          break;
        }
        finite = finite && std::isfinite(x);
      }
      if (numeric && !finite) fail(e, fmt::format("{}=\"{}\": non-finite number", a->Name(), collapse_whitespace(v)));
    }
    for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) check_finite(c);
  }

  void drop_unsupported_attributes(XMLElement* e) {
    for (const Droppable& d : kDroppable) {
      if (!is(e, d.tag)) continue;
      const char* v = e->Attribute(d.attr);
      if (!v || (d.only && std::string(v) != d.only)) continue;
      if (is(e, "flag") && std::string(d.attr) == "eulerdamp" && std::string(v) == "disable" &&
          integrator() == "Euler")
        fail(e, "eulerdamp=\"disable\" with the Euler integrator: MuJoCo 2.2.2 always integrates joint "
                "damping implicitly (no equivalent)");
      if (is(e, "light") && std::string(d.attr) == "type" && std::string(v) == "directional" &&
          !e->Attribute("directional")) {
        e->SetAttribute("directional", "true");
        note(fmt::format("{} type=directional -> directional=true", describe(e)));
      } else {
        note(fmt::format("{} {}={} dropped ({})", describe(e), d.attr, v, d.why));
      }
      e->DeleteAttribute(d.attr);
    }
    if (is(e, "material")) {
      // MuJoCo 3 PBR texture layers: rendering only
      for (XMLElement* layer : children(e, "layer")) {
        note(fmt::format("{} <layer> dropped (PBR texture layer; rendering only)", describe(e)));
        e->DeleteChild(layer);
      }
    }
    if (e->Parent() && e->Parent()->ToElement() && is(e->Parent()->ToElement(), "visual")) {
      auto it = visual_schema_222().find(e->Name());
      if (it != visual_schema_222().end()) {
        std::vector<std::string> drop;
        for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a; a = a->Next())
          if (!it->second.count(a->Name())) drop.push_back(a->Name());
        for (const auto& a : drop) {
          note(fmt::format("{} {}={} dropped (visualisation only)", describe(e), a, e->Attribute(a.c_str())));
          e->DeleteAttribute(a.c_str());
        }
      }
    }
    for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) drop_unsupported_attributes(c);
  }

  // ---------------------------------------------------------------------------------------------
  // <compiler>, <option>, <size>

  fs::path resolve_dir(const XMLElement* compiler, const std::string& d) const {
    fs::path p(d);
    if (p.is_absolute()) return p;
    fs::path a = main_dir_ / p;  // MuJoCo: relative to the main model file
    if (!fs::is_directory(a)) {
      auto it = origins_.find(compiler);
      if (it != origins_.end()) {
        fs::path b = fs::absolute(it->second.file).parent_path() / p;
        if (fs::is_directory(b)) return b.lexically_normal();
      }
    }
    return a.lexically_normal();
  }

  static std::string with_slash(const fs::path& p) {
    std::string s = p.string();
    if (s.empty() || s.back() != '/') s.push_back('/');
    return s;
  }

  void rewrite_compiler() {
    XMLElement* root = doc_.RootElement();
    auto compilers = children(root, "compiler");
    if (compilers.empty()) {
      XMLElement* c = doc_.NewElement("compiler");
      root->InsertFirstChild(c);
      origins_[c] = {file_.string(), 0, "compiler"};
      compilers.push_back(c);
    }
    bool has_autolimits = false, has_meshdir = false, has_texturedir = false;
    for (XMLElement* c : compilers) {
      if (const char* a = c->Attribute("assetdir")) {
        const std::string dir = a;
        std::string what;
        if (!c->Attribute("meshdir")) c->SetAttribute("meshdir", dir.c_str()), what += " meshdir";
        if (!c->Attribute("texturedir")) c->SetAttribute("texturedir", dir.c_str()), what += " texturedir";
        c->DeleteAttribute("assetdir");
        note(fmt::format("{} assetdir={} ->{}", describe(c), dir, what.empty() ? " (overridden)" : what));
      }
      has_autolimits |= c->Attribute("autolimits") != nullptr;
      for (const char* key : {"meshdir", "texturedir"}) {
        if (const char* v = c->Attribute(key)) {
          const std::string abs = with_slash(resolve_dir(c, v));
          spdlog::debug("compat: {} {}={} -> {}", describe(c), key, v, abs);
          c->SetAttribute(key, abs.c_str());
          (std::string(key) == "meshdir" ? has_meshdir : has_texturedir) = true;
        }
      }
    }
    XMLElement* first = compilers.front();
    if (!has_meshdir) first->SetAttribute("meshdir", with_slash(main_dir_).c_str());
    if (!has_texturedir) first->SetAttribute("texturedir", with_slash(main_dir_).c_str());
    if (!has_autolimits) {
      first->SetAttribute("autolimits", "true");
      autolimits_ = true;
      note(fmt::format("{}: <compiler> autolimits=true (MuJoCo 3 default; 2.2.2 defaults to false)",
                       file_.filename().string()));
    }
  }

  /// The integrator the model asks for (MuJoCo's default is Euler; the last <option> wins).
  std::string integrator() {
    std::string i = "Euler";
    for (XMLElement* o : children(doc_.RootElement(), "option"))
      if (const char* v = o->Attribute("integrator")) i = v;
    return i;
  }

  void rewrite_option() {
    for (XMLElement* o : children(doc_.RootElement(), "option")) {
      if (const char* i = o->Attribute("integrator"); i && std::string(i) == "implicitfast") {
        // implicitfast drops the Coriolis/centripetal terms from the implicit velocity derivative;
        // 2.2.2's "implicit" keeps them: both are implicit in joint damping and actuator gains.
        o->SetAttribute("integrator", "implicit");
        note(fmt::format("{} integrator=implicitfast -> implicit", describe(o)));
      }
    }
  }

  void rewrite_size() {
    // MuJoCo 3 allocates contacts and constraint rows dynamically; 2.2.2 has fixed buffers (defaults
    // nconmax=100, njmax=500) and drops contacts beyond them. 200 contacts with pyramidal condim-3
    // cones take 800 constraint rows; njmax=1000 leaves ~200 rows for joint limits, dry friction and
    // equality constraints of a 30-50 DoF humanoid (and hands). Larger values cost memory quadratically
    // in 2.2.2 (efc_AR and the stack are njmax^2).
    constexpr int kNconmax = 200, kNjmax = 1000;
    XMLElement* root = doc_.RootElement();
    auto sizes = children(root, "size");
    bool has_ncon = false, has_nj = false;
    for (XMLElement* s : sizes) {
      has_ncon |= s->Attribute("nconmax") != nullptr;
      has_nj |= s->Attribute("njmax") != nullptr;
      if (const char* mem = s->Attribute("memory")) {
        note(fmt::format("{} memory={} dropped (MuJoCo 3 arena size; 2.2.2 sizes buffers by nconmax/njmax)",
                         describe(s), mem));
        s->DeleteAttribute("memory");
      }
    }
    if (has_ncon && has_nj) return;
    XMLElement* s = sizes.empty() ? nullptr : sizes.front();
    if (!s) {
      s = doc_.NewElement("size");
      root->InsertAfterChild(children(root, "compiler").back(), s);  // rewrite_compiler made sure of one
      origins_[s] = {file_.string(), 0, "size"};
    }
    std::string what;
    if (!has_ncon) s->SetAttribute("nconmax", kNconmax), what += fmt::format(" nconmax={}", kNconmax);
    if (!has_nj) s->SetAttribute("njmax", kNjmax), what += fmt::format(" njmax={}", kNjmax);
    note(fmt::format("{}: <size>{} (2.2.2 has fixed contact/constraint buffers)", file_.filename().string(), what));
  }

  // ---------------------------------------------------------------------------------------------
  // orientation (MuJoCo 3 user_objects.cc ResolveOrientation)

  std::optional<Quat> orientation_from(const std::function<const char*(const char*)>& get,
                                       const XMLElement* e) const {
    const double to_rad = degree_ ? std::numbers::pi / 180.0 : 1.0;
    if (const char* v = get("quat")) {
      auto q = parse_numbers(v);
      if (q.size() != 4) fail(e, "quat needs 4 numbers");
      return Quat(q[0], q[1], q[2], q[3]).normalized();
    }
    if (const char* v = get("axisangle")) {
      auto a = parse_numbers(v);
      if (a.size() != 4) fail(e, "axisangle needs 4 numbers");
      Vec3 axis(a[0], a[1], a[2]);
      if (axis.norm() < 1e-14) fail(e, "axisangle too small");
      return Quat(Eigen::AngleAxisd(a[3] * to_rad, axis.normalized()));
    }
    if (const char* v = get("xyaxes")) {
      auto a = parse_numbers(v);
      if (a.size() != 6) fail(e, "xyaxes needs 6 numbers");
      Vec3 x(a[0], a[1], a[2]), y(a[3], a[4], a[5]);
      x.normalize();
      y -= x * x.dot(y);
      y.normalize();
      const Vec3 z = x.cross(y).normalized();
      Eigen::Matrix3d R;
      R << x, y, z;
      return Quat(R).normalized();
    }
    if (const char* v = get("zaxis")) {
      auto a = parse_numbers(v);
      if (a.size() != 3) fail(e, "zaxis needs 3 numbers");
      Vec3 z = Vec3(a[0], a[1], a[2]).normalized();
      Vec3 axis = Vec3::UnitZ().cross(z);
      const double s = axis.norm();
      if (s < 1e-10) axis = Vec3::UnitX();
      else axis /= s;
      const double ang = std::atan2(s, z.z());
      return Quat(Eigen::AngleAxisd(ang, axis));
    }
    if (const char* v = get("euler")) {
      auto a = parse_numbers(v);
      if (a.size() != 3) fail(e, "euler needs 3 numbers");
      Quat q = Quat::Identity();
      for (int i = 0; i < 3; ++i) {
        const char s = i < static_cast<int>(eulerseq_.size()) ? eulerseq_[i] : "xyz"[i];
        Vec3 axis = std::tolower(s) == 'x' ? Vec3::UnitX() : std::tolower(s) == 'y' ? Vec3::UnitY() : Vec3::UnitZ();
        const Quat r(Eigen::AngleAxisd(a[i] * to_rad, axis));
        q = std::islower(s) ? q * r : r * q;  // moving axes: post-multiply; fixed axes: pre-multiply
      }
      return q.normalized();
    }
    return std::nullopt;
  }

  /// Orientation of an element: its own specification if any, else the nearest default's.
  Quat orientation_of(const XMLElement* e, bool with_defaults) const {
    if (auto q = orientation_from([&](const char* a) { return e->Attribute(a); }, e)) return *q;
    if (with_defaults)
      for (XMLElement* d : default_elems(e, e->Name()))
        if (auto q = orientation_from([&](const char* a) { return d->Attribute(a); }, d)) return *q;
    return Quat::Identity();
  }

  static Vec3 vec3_or(const char* v, const Vec3& fallback) {
    const auto n = parse_numbers(v);
    return n.size() >= 3 ? Vec3(n[0], n[1], n[2]) : fallback;
  }

  static void set_vec(XMLElement* e, const char* attr, const Vec3& v) {
    e->SetAttribute(attr, fmt_nums(v.data(), 3).c_str());
  }

  static void set_quat(XMLElement* e, const Quat& q) {
    const double w[4] = {q.w(), q.x(), q.y(), q.z()};
    e->SetAttribute("quat", fmt_nums(w, 4).c_str());
    for (const char* a : {"axisangle", "xyaxes", "zaxis", "euler"}) e->DeleteAttribute(a);
  }

  // ---------------------------------------------------------------------------------------------
  // <frame>: composed into its children (MuJoCo 3: frames can hold bodies, geoms, sites, joints,
  // cameras, lights and frames; their poses are relative to the frame), then removed.

  void compose_into(XMLElement* k, const Vec3& fp, const Quat& fq, const char* childclass) {
    const std::string tag = k->Name();
    if (childclass) {
      if (tag == "body" || tag == "frame") {
        if (!k->Attribute("childclass")) k->SetAttribute("childclass", childclass);
      } else if (!k->Attribute("class")) {
        k->SetAttribute("class", childclass);
      }
    }
    const bool takes_defaults = tag != "body" && tag != "frame";
    auto attr = [&](const char* a) { return takes_defaults ? resolved(k, a) : k->Attribute(a); };
    if (tag == "body" || tag == "frame" || tag == "geom" || tag == "site" || tag == "camera" || tag == "light") {
      if ((tag == "geom" || tag == "site") && attr("fromto")) {
        auto ft = parse_numbers(attr("fromto"));
        if (ft.size() != 6) fail(k, "fromto needs 6 numbers");
        const Vec3 a = fp + fq * Vec3(ft[0], ft[1], ft[2]), b = fp + fq * Vec3(ft[3], ft[4], ft[5]);
        const double v[6] = {a.x(), a.y(), a.z(), b.x(), b.y(), b.z()};
        k->SetAttribute("fromto", fmt_nums(v, 6).c_str());
        return;
      }
      // An alternative orientation (euler, axisangle, ...) in a default class overrides an element's
      // quat in both MuJoCo versions, so the quat written below would be ignored: refuse that corner.
      if (takes_defaults)
        for (XMLElement* d : default_elems(k, k->Name()))
          for (const char* alt : {"axisangle", "xyaxes", "zaxis", "euler"})
            if (d->Attribute(alt))
              fail(k, fmt::format("inside <frame>, with {} from a default class: cannot be composed exactly for "
                                  "MuJoCo 2.2.2", alt));
      const Vec3 p = vec3_or(attr("pos"), Vec3::Zero());
      set_vec(k, "pos", fp + fq * p);
      if (tag == "light") {
        set_vec(k, "dir", fq * vec3_or(attr("dir"), Vec3(0, 0, -1)));
        return;
      }
      set_quat(k, fq * orientation_of(k, takes_defaults));
    } else if (tag == "joint") {
      set_vec(k, "pos", fp + fq * vec3_or(attr("pos"), Vec3::Zero()));
      set_vec(k, "axis", fq * vec3_or(attr("axis"), Vec3::UnitZ()));
    } else if (tag == "freejoint") {
      // no pose
    } else {
      fail(k, "element inside <frame> is not supported by the MuJoCo-3 compatibility layer");
    }
  }

  void flatten_frames(XMLElement* parent) {
    for (XMLElement* c = parent->FirstChildElement(); c;) {
      if (!is(c, "frame")) {
        if (is(c, "body")) flatten_frames(c);
        c = c->NextSiblingElement();
        continue;
      }
      const Vec3 fp = vec3_or(c->Attribute("pos"), Vec3::Zero());
      const Quat fq = orientation_of(c, false);
      const char* childclass = c->Attribute("childclass");
      XMLNode* after = c;
      XMLElement* first_moved = nullptr;
      int moved = 0;
      while (XMLNode* k = c->FirstChild()) {
        if (XMLElement* ke = k->ToElement()) {
          compose_into(ke, fp, fq, childclass);
          if (!first_moved) first_moved = ke;
          ++moved;
        }
        parent->InsertAfterChild(after, k);
        after = k;
      }
      note(fmt::format("{} composed into its {} children and removed", describe(c), moved));
      XMLElement* next = first_moved ? first_moved : c->NextSiblingElement();
      parent->DeleteChild(c);
      c = next;  // continue with the moved children (nested frames are flattened in turn)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // bodies: gravcomp

  void rewrite_bodies(XMLElement* e) {
    for (XMLElement* b = e->FirstChildElement(); b; b = b->NextSiblingElement()) {
      if (!is(b, "body")) continue;
      if (const char* g = b->Attribute("gravcomp")) {
        const auto v = parse_numbers(g);
        if (v.size() != 1 || v[0] != 0.0)
          fail(b, fmt::format("gravcomp=\"{}\": gravity compensation (MuJoCo 3) has no MuJoCo 2.2.2 equivalent", g));
        b->DeleteAttribute("gravcomp");
        note(fmt::format("{} gravcomp=0 dropped (no gravity compensation)", describe(b)));
      }
      rewrite_bodies(b);
    }
  }

  void index_named(XMLElement* e, const char* tag, std::map<std::string, XMLElement*>& out) {
    for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) {
      if (is(c, tag))
        if (const char* n = c->Attribute("name")) out[n] = c;
      index_named(c, tag, out);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // <connect site1 site2> -> body1 body2 anchor

  void rewrite_connect() {
    XMLElement* root = doc_.RootElement();
    std::map<std::string, XMLElement*> sites;
    if (XMLElement* wb = root->FirstChildElement("worldbody")) index_named(wb, "site", sites);
    int eq_index = 0;
    for (XMLElement* sec : children(root, "equality")) {
      for (XMLElement* c = sec->FirstChildElement(); c; c = c->NextSiblingElement(), ++eq_index) {
        if (!is(c, "connect") || !c->Attribute("site1")) continue;
        const std::string s1 = c->Attribute("site1");
        const char* s2a = c->Attribute("site2");
        if (!s2a) fail(c, "site1 without site2");
        const std::string s2 = s2a;
        auto body_of_site = [&](const std::string& s) -> std::pair<std::string, XMLElement*> {
          auto it = sites.find(s);
          if (it == sites.end()) fail(c, fmt::format("unknown site '{}'", s));
          XMLElement* parent = it->second->Parent()->ToElement();
          if (is(parent, "worldbody")) return {"world", it->second};
          const char* bn = parent->Attribute("name");
          if (!bn) fail(c, fmt::format("site '{}' is on an unnamed body; the 2.2.2 form needs body names", s));
          return {bn, it->second};
        };
        auto [b1, site1] = body_of_site(s1);
        auto [b2, site2] = body_of_site(s2);
        (void)site2;
        Vec3 anchor = vec3_or(resolved(site1, "pos"), Vec3::Zero());
        if (const char* ft = resolved(site1, "fromto"); ft && !site1->Attribute("pos")) {
          auto v = parse_numbers(ft);
          if (v.size() == 6) anchor = 0.5 * (Vec3(v[0], v[1], v[2]) + Vec3(v[3], v[4], v[5]));
        }
        c->DeleteAttribute("site1");
        c->DeleteAttribute("site2");
        c->SetAttribute("body1", b1.c_str());
        c->SetAttribute("body2", b2.c_str());
        set_vec(c, "anchor", anchor);
        note(fmt::format("{} site1={} site2={} -> body1={} body2={} anchor={}", describe(c), s1, s2, b1, b2,
                         fmt_nums(anchor.data(), 3)));
        connects_.push_back({eq_index, s1, s2, describe(c)});
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // actuators

  void collect_actuators() {
    for (XMLElement* sec : children(doc_.RootElement(), "actuator")) {
      for (XMLElement* a = sec->FirstChildElement(); a; a = a->NextSiblingElement()) {
        ActInfo info;
        info.elem = a;
        info.describe = describe(a);
        if (const char* j = a->Attribute("joint")) info.joint = j;
        else if (const char* j2 = a->Attribute("jointinparent")) info.joint = j2;
        // class chain root -> leaf, then the element
        std::vector<const DefClass*> ch = chain(a->Attribute("class") ? a->Attribute("class") : "main");
        for (auto it = ch.rbegin(); it != ch.rend(); ++it)
          for (XMLElement* d : (*it)->elems)
            for (XMLElement* k = d->FirstChildElement(); k; k = k->NextSiblingElement())
              if (actuator_tags().count(k->Name())) info.state.apply(k);
        info.state.apply(a);
        if (info.state.mj3) convert_actuator(info);
        acts_.push_back(std::move(info));
      }
    }
  }

  void convert_actuator(ActInfo& info) {
    XMLElement* a = info.elem;
    ActState& s = info.state;
    const std::string tag = a->Name();
    if (tag != "position" && tag != "intvelocity" && tag != "general" && tag != "motor" && tag != "velocity" &&
        tag != "damper")
      fail(a, "inherits MuJoCo-3 position-servo attributes (kv/dampratio/timeconst/inheritrange) that the "
              "compatibility layer cannot apply to this actuator type");
    for (const char* k : {"kp", "kv", "dampratio", "timeconst", "inheritrange"}) a->DeleteAttribute(k);
    a->SetName("general");
    std::string dyntype = s.dyntype;
    if (dyntype == "filterexact") {
      // 2.2.2 has no filterexact: the first-order filter is integrated with Euler instead of exactly
      // (act += h (ctrl - act) / timeconst): identical for h << timeconst.
      dyntype = "filter";
      info.describe += " [timeconst: 2.2.2 filter (Euler) approximates MuJoCo 3's filterexact]";
    }
    a->SetAttribute("gaintype", s.gaintype.c_str());
    a->SetAttribute("biastype", s.biastype.c_str());
    a->SetAttribute("dyntype", dyntype.c_str());
    a->SetAttribute("gainprm", trimmed_prm(s.gainprm, 1).c_str());
    a->SetAttribute("biasprm", trimmed_prm(s.biasprm, 3).c_str());
    if (dyntype != "none") a->SetAttribute("dynprm", trimmed_prm(s.dynprm, 1).c_str());
    info.converted = true;
  }

  void rewrite_actuatorfrcrange() {
    XMLElement* wb = doc_.RootElement()->FirstChildElement("worldbody");
    if (!wb) return;
    std::vector<XMLElement*> all;
    preorder(wb, all);
    for (XMLElement* j : all) {
      if (!is(j, "joint") && !is(j, "freejoint")) continue;
      const char* range_attr = resolved(j, "actuatorfrcrange");
      const char* limited_attr = resolved(j, "actuatorfrclimited");
      const std::string range = range_attr ? range_attr : "";  // copies: the attributes are deleted below
      const std::string lim = limited_attr ? limited_attr : "auto";
      const bool had_own = j->Attribute("actuatorfrcrange") || j->Attribute("actuatorfrclimited");
      j->DeleteAttribute("actuatorfrcrange");
      j->DeleteAttribute("actuatorfrclimited");
      const auto r = parse_numbers(range.c_str());
      const bool active = r.size() == 2 && !(r[0] == 0 && r[1] == 0) && lim != "false" &&
                          (lim == "true" || autolimits_);
      const char* jn = j->Attribute("name");
      if (!active) {
        if (had_own) note(fmt::format("{} actuatorfrcrange/actuatorfrclimited dropped (no active limit)", describe(j)));
        continue;
      }
      if (r[0] > r[1]) fail(j, "actuatorfrcrange lower bound above upper bound");
      std::vector<ActInfo*> drivers;
      for (ActInfo& a : acts_)
        if (jn && a.joint == jn) drivers.push_back(&a);
      if (drivers.empty()) {
        note(fmt::format("{} actuatorfrcrange={} dropped (no actuator drives this joint)", describe(j), range));
        continue;
      }
      for (ActInfo* a : drivers) {
        const double g = a->state.gear;
        if (g == 0) continue;
        double lo = r[0] / g, hi = r[1] / g;
        if (g < 0) std::swap(lo, hi);
        const auto& fr = a->state.forcerange;
        const bool own_limited = a->state.forcelimited == "true" ||
                                 (a->state.forcelimited == "auto" && autolimits_ && fr && !((*fr)[0] == 0 && (*fr)[1] == 0));
        if (own_limited && fr) {
          lo = std::max(lo, (*fr)[0]);
          hi = std::min(hi, (*fr)[1]);
        }
        const double v[2] = {lo, hi};
        a->elem->SetAttribute("forcerange", fmt_nums(v, 2).c_str());
        a->elem->SetAttribute("forcelimited", "true");
        a->state.forcerange = std::array<double, 2>{lo, hi};
        a->state.forcelimited = "true";
        const char* an = a->elem->Attribute("name");
        note(fmt::format("{} actuatorfrcrange={} -> <{}{}> forcerange={} forcelimited=true{}", describe(j),
                         collapse_whitespace(range), a->elem->Name(), an ? fmt::format(" name={}", an) : "",
                         fmt_nums(v, 2),
                         drivers.size() > 1 ? " (several actuators: MuJoCo 3 clamps their sum; applied to each)" : ""));
      }
    }
  }

  void rewrite_sensors() {
    for (XMLElement* sec : children(doc_.RootElement(), "sensor")) {
      for (XMLElement* s : children(sec, "jointactuatorfrc")) {
        const char* jn = s->Attribute("joint");
        if (!jn) fail(s, "jointactuatorfrc without joint");
        std::vector<ActInfo*> drivers;
        for (ActInfo& a : acts_)
          if (a.joint == jn) drivers.push_back(&a);
        if (drivers.size() != 1)
          fail(s, fmt::format("jointactuatorfrc on joint '{}' driven by {} actuators: MuJoCo 2.2.2 can only "
                              "measure a single actuator's force",
                              jn, drivers.size()));
        ActInfo* a = drivers.front();
        if (!a->elem->Attribute("name")) {
          const std::string n = std::string(jn) + "_actuator";
          a->elem->SetAttribute("name", n.c_str());
          note(fmt::format("{} named {} (referenced by a converted sensor)", a->describe, n));
        }
        const std::string an = a->elem->Attribute("name");
        s->SetName("actuatorfrc");
        s->DeleteAttribute("joint");
        s->SetAttribute("actuator", an.c_str());
        const double g = a->state.gear;
        note(fmt::format("{} joint={} -> <actuatorfrc actuator={}>{}", describe(s, "jointactuatorfrc"), jn, an,
                         g != 1.0 ? fmt::format(" (reads actuator force; joint torque = {} x reading)", fmt_num(g)) : ""));
      }
    }
  }

  void strip_mj3_defaults() {
    for (auto& [name, cls] : classes_) {
      for (XMLElement* d : cls.elems) {
        for (XMLElement* k = d->FirstChildElement(); k; k = k->NextSiblingElement()) {
          if (is(k, "position") || is(k, "intvelocity"))
            for (const char* a : {"kv", "dampratio", "timeconst", "inheritrange"})
              if (k->Attribute(a)) {
                spdlog::debug("compat: <default class={}> <{}> {} moved to the actuators", name, k->Name(), a);
                k->DeleteAttribute(a);
              }
          if (is(k, "joint"))
            for (const char* a : {"actuatorfrcrange", "actuatorfrclimited"}) k->DeleteAttribute(a);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // floor

  void add_floor_if_missing() {
    XMLElement* root = doc_.RootElement();
    XMLElement* wb = root->FirstChildElement("worldbody");
    if (wb) {
      std::vector<XMLElement*> all;
      preorder(wb, all);
      for (XMLElement* g : all) {
        if (!is(g, "geom")) continue;
        const char* t = resolved(g, "type");
        if (t && (std::string(t) == "plane" || std::string(t) == "hfield")) return;
      }
    } else {
      wb = doc_.NewElement("worldbody");
      root->InsertEndChild(wb);
      origins_[wb] = {file_.string(), 0, "worldbody"};
    }
    std::set<std::string> names;
    std::vector<XMLElement*> all;
    preorder(root, all);
    for (XMLElement* e : all)
      if (const char* n = e->Attribute("name")) names.insert(n);
    auto fresh = [&](const std::string& base) {
      std::string n = base;
      for (int i = 1; names.count(n); ++i) n = fmt::format("{}_{}", base, i);
      names.insert(n);
      return n;
    };
    const std::string tex = fresh("oh_floor_texture"), mat = fresh("oh_floor_material");
    const std::string geom = fresh("floor"), light = fresh("oh_floor_light");
    XMLElement* asset = doc_.NewElement("asset");
    XMLElement* t = asset->InsertNewChildElement("texture");
    t->SetAttribute("name", tex.c_str());
    t->SetAttribute("type", "2d");
    t->SetAttribute("builtin", "checker");  // generated in memory: no image file needed
    t->SetAttribute("rgb1", "0.2 0.3 0.4");
    t->SetAttribute("rgb2", "0.1 0.2 0.3");
    t->SetAttribute("mark", "edge");
    t->SetAttribute("markrgb", "0.8 0.8 0.8");
    t->SetAttribute("width", 300);
    t->SetAttribute("height", 300);
    XMLElement* m = asset->InsertNewChildElement("material");
    m->SetAttribute("name", mat.c_str());
    m->SetAttribute("texture", tex.c_str());
    m->SetAttribute("texuniform", "true");
    m->SetAttribute("texrepeat", "5 5");
    m->SetAttribute("reflectance", "0.2");
    root->InsertEndChild(asset);  // MuJoCo reads sections by type, so the position does not matter
    XMLElement* l = doc_.NewElement("light");
    l->SetAttribute("name", light.c_str());
    l->SetAttribute("pos", "0 0 4");
    l->SetAttribute("dir", "0 0 -1");
    l->SetAttribute("directional", "true");
    XMLElement* g = doc_.NewElement("geom");
    g->SetAttribute("name", geom.c_str());
    g->SetAttribute("type", "plane");
    g->SetAttribute("size", "0 0 0.05");
    g->SetAttribute("material", mat.c_str());
    // explicit contact attributes so that a <default> meant for the robot cannot disable the floor
    g->SetAttribute("contype", 1);
    g->SetAttribute("conaffinity", 1);
    g->SetAttribute("condim", 3);
    g->SetAttribute("friction", "1 0.005 0.0001");
    g->SetAttribute("group", 0);
    wb->InsertFirstChild(g);
    wb->InsertFirstChild(l);
    for (XMLElement* e : {asset, t, m, l, g}) origins_[e] = {"(added by the compatibility layer)", 0, e->Name()};
    note(fmt::format("{}: added floor (plane geom '{}', builtin checker material) and a light",
                     file_.filename().string(), geom));
  }

  // ---------------------------------------------------------------------------------------------
  // compile (two passes when dampratio/inheritrange need the compiled model)

  mjModel* compile_once(const std::string& xml) {
    std::string error;
    mjModel* m = nullptr;
    {
      std::lock_guard<std::mutex> lock(mujoco_compiler_mutex());
      m = compile_raw(xml, file_, error);
    }
    if (!m) throw_compile_error(error, xml);
    return m;
  }

  [[noreturn]] void throw_compile_error(const std::string& error, const std::string& xml) {
    std::string msg = error.substr(0, error.find('\n'));
    for (const char* prefix : {"XML Error: ", "Error: "})
      if (msg.rfind(prefix, 0) == 0) msg = msg.substr(std::strlen(prefix));
    std::smatch match;
    int line = 0;
    std::string elem_name;
    static const std::regex elem_re(R"(Element '([^']*)', line (\d+))");
    static const std::regex obj_re(R"(line = (\d+))");
    if (std::regex_search(error, match, elem_re)) {
      elem_name = match[1];
      line = std::stoi(match[2]);
    } else if (std::regex_search(error, match, obj_re)) {
      line = std::stoi(match[1]);
    }
    std::string rest;
    static const std::regex name_re(R"(Object name = ([^,]*), id)");
    if (std::regex_search(error, match, name_re) && !match[1].str().empty())
      rest = fmt::format(" (object '{}')", match[1].str());
    const bool unknown = msg.find("unrecognized") != std::string::npos;
    const std::string hint = unknown ? " - not supported by MuJoCo 2.2.2 and not handled by the MuJoCo-3 "
                                       "compatibility layer"
                                     : "";
    if (const XMLElement* e = line > 0 ? element_at_printed_line(xml, line, elem_name) : nullptr)
      throw ModelError(fmt::format("{}: {}{}{}", where(e), msg, rest, hint));
    throw ModelError(fmt::format("{}: MuJoCo 2.2.2: {}{}{}", file_.string(), msg, rest, hint));
  }

  /// Maps a line of the printed (rewritten) XML back to the element of our document.
  const XMLElement* element_at_printed_line(const std::string& xml, int line, const std::string& name) {
    XMLDocument printed;
    if (printed.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) return nullptr;
    std::vector<XMLElement*> a, b;
    preorder(printed.RootElement(), a);
    preorder(doc_.RootElement(), b);
    if (a.size() != b.size()) return nullptr;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i]->GetLineNum() == line && (name.empty() || name == a[i]->Name())) return b[i];
    return nullptr;
  }

  Result compile() {
    std::string xml = print_xml(doc_);
    mjModel* m = compile_once(xml);
    std::unique_ptr<mjModel, void (*)(mjModel*)> guard(m, [](mjModel* p) { mj_deleteModel(p); });
    resolve_after_first_compile(m);
    for (const ActInfo& a : acts_) {
      if (!a.converted) continue;
      std::string before;
      for (const auto& [k, v] : a.state.mj3_attrs) before += fmt::format(" {}={}", k, collapse_whitespace(v));
      std::string after;
      if (a.has_kv_from_dampratio) after += fmt::format(" kv={:.6g}", a.kv);
      else if (a.state.biasprm[2] < 0) after += fmt::format(" kv={:.6g}", -a.state.biasprm[2]);
      if (a.inherited_range)
        after += fmt::format(" {}={}", a.state.dyntype == "integrator" ? "actrange" : "ctrlrange",
                             fmt_nums(a.inherited_range->data(), 2));
      note(fmt::format("{}{} -> <general>{}", a.describe, before, after));
    }
    xml = print_xml(doc_);  // the text now carries the resolved kv/ctrlrange as well
    patch_connects(m);
    check_inertia(m);
    Result r;
    r.xml = std::move(xml);
    r.rewrites = std::move(rewrites_);
    r.mj = std::shared_ptr<mjModel_>(guard.release(), [](mjModel* p) { mj_deleteModel(p); });
    return r;
  }

  /// dampratio -> kv (MuJoCo 3 engine_setconst.c: for every position-like actuator, i.e. gainprm[0] ==
  /// -biasprm[1], a positive biasprm[2] is a damping ratio: kv = dampratio * 2 * sqrt(kp * mass) with
  /// mass = sum over dofs of dof_M0 / moment^2 at qpos0; dof_M0 includes armature in both versions), and
  /// inheritrange -> ctrlrange (MuJoCo 3 user_objects.cc: the target's range scaled by inheritrange about
  /// its midpoint). The compiled model is patched in place and the XML gets the same values, so the text
  /// compiles to the same model (checked by test_compat); compiling twice would double the load time,
  /// which mesh processing dominates. Nothing MuJoCo derives at compile time depends on these fields.
  void resolve_after_first_compile(mjModel* m) {
    if (static_cast<size_t>(m->nu) != acts_.size()) {
      spdlog::warn("compat: {} actuators compiled but {} found in the XML; dampratio not resolved", m->nu,
                   acts_.size());
      return;
    }
    mjData* d = nullptr;
    for (int i = 0; i < m->nu; ++i) {
      ActInfo& a = acts_[i];
      const mjtNum* gain = m->actuator_gainprm + i * mjNGAIN;
      const mjtNum* bias = m->actuator_biasprm + i * mjNBIAS;
      if (gain[0] == -bias[1] && bias[2] > 0) {
        if (!d) {
          d = mj_makeData(m);
          mju_copy(d->qpos, m->qpos0, m->nq);
          mj_kinematics(m, d);
          mj_comPos(m, d);
          mj_tendon(m, d);
          mj_transmission(m, d);
        }
        double mass = 0;
        for (int j = 0; j < m->nv; ++j) {
          const double t = std::abs(d->actuator_moment[i * m->nv + j]);
          if (t * t > mjMINVAL) mass += m->dof_M0[j] / (t * t);
        }
        const double kp = gain[0];
        a.dampratio = bias[2];
        a.kv = bias[2] * 2 * std::sqrt(kp * mass);
        a.has_kv_from_dampratio = true;
        std::array<double, 10> b{};
        for (int k = 0; k < 10 && k < mjNBIAS; ++k) b[k] = bias[k];
        b[2] = -a.kv;
        m->actuator_biasprm[i * mjNBIAS + 2] = -a.kv;
        a.state.biasprm = b;
        a.elem->SetAttribute("biasprm", trimmed_prm(b, 3).c_str());
        if (!a.converted) {
          // a literal <general> with biasprm[2] > 0: MuJoCo 3 reads it as a damping ratio as well
          a.converted = true;
          a.state.remember("biasprm[2] (MuJoCo 3: dampratio)", fmt_num(bias[2]));
        }
      }
      if (a.converted && a.state.inheritrange > 0) {
        const int trn = m->actuator_trntype[i], id = m->actuator_trnid[2 * i];
        const mjtNum* range = nullptr;
        if ((trn == mjTRN_JOINT || trn == mjTRN_JOINTINPARENT) && id >= 0) {
          if (m->jnt_type[id] != mjJNT_HINGE && m->jnt_type[id] != mjJNT_SLIDE)
            fail(a.elem, "inheritrange can only be used with hinge and slide joints");
          range = m->jnt_range + 2 * id;
        } else if (trn == mjTRN_TENDON && id >= 0) {
          range = m->tendon_range + 2 * id;
        } else {
          fail(a.elem, "inheritrange can only be used with joint and tendon transmission");
        }
        if (range[0] == range[1]) fail(a.elem, "inheritrange used but the target has no range");
        const double mean = 0.5 * (range[1] + range[0]);
        const double radius = 0.5 * (range[1] - range[0]) * a.state.inheritrange;
        a.inherited_range = std::array<double, 2>{mean - radius, mean + radius};
        const bool act = a.state.dyntype == "integrator";
        a.elem->SetAttribute(act ? "actrange" : "ctrlrange", fmt_nums(a.inherited_range->data(), 2).c_str());
        mjtNum* dst = (act ? m->actuator_actrange : m->actuator_ctrlrange) + 2 * i;
        dst[0] = (*a.inherited_range)[0];
        dst[1] = (*a.inherited_range)[1];
        const char* limited = act ? "actlimited" : "ctrllimited";
        if (!a.elem->Attribute(limited)) {
          a.elem->SetAttribute(limited, "true");
          (act ? m->actuator_actlimited : m->actuator_ctrllimited)[i] = 1;
        }
      }
    }
    if (d) mj_deleteData(d);
  }

  /// MuJoCo 3 connects site1 to site2 exactly; 2.2.2's body form takes the body2 point from qpos0.
  /// When the two sites do not coincide at qpos0, set the body2 point to site2 as MuJoCo 3 does.
  void patch_connects(mjModel* m) {
    if (connects_.empty()) return;
    mjData* d = mj_makeData(m);
    mju_copy(d->qpos, m->qpos0, m->nq);
    mj_kinematics(m, d);
    for (const ConnectPatch& c : connects_) {
      const int s1 = mj_name2id(m, mjOBJ_SITE, c.site1.c_str()), s2 = mj_name2id(m, mjOBJ_SITE, c.site2.c_str());
      if (s1 < 0 || s2 < 0 || c.eq_index >= m->neq) continue;
      const double dist = std::sqrt(std::pow(d->site_xpos[3 * s1] - d->site_xpos[3 * s2], 2) +
                                    std::pow(d->site_xpos[3 * s1 + 1] - d->site_xpos[3 * s2 + 1], 2) +
                                    std::pow(d->site_xpos[3 * s1 + 2] - d->site_xpos[3 * s2 + 2], 2));
      if (dist > 1e-9) {
        mju_copy3(m->eq_data + mjNEQDATA * c.eq_index + 3, m->site_pos + 3 * s2);
        note(fmt::format("{} sites {:.3g} m apart at qpos0: body2 point set to site2 in the compiled model "
                         "(MuJoCo 3 semantics; the MJCF text alone would keep the qpos0 offset)",
                         c.describe, dist));
      }
    }
    mj_deleteData(d);
  }

  void check_inertia(const mjModel* m) {
    for (int b = 1; b < m->nbody; ++b) {
      bool ok = std::isfinite(m->body_mass[b]);
      for (int k = 0; k < 3; ++k) ok = ok && std::isfinite(m->body_inertia[3 * b + k]) && std::isfinite(m->body_ipos[3 * b + k]);
      for (int k = 0; k < 4; ++k) ok = ok && std::isfinite(m->body_iquat[4 * b + k]);
      if (ok) continue;
      const char* name = mj_id2name(m, mjOBJ_BODY, b);
      const std::string what =
          fmt::format("non-finite inertial data (mass {}, diaginertia {} {} {})", m->body_mass[b],
                      m->body_inertia[3 * b], m->body_inertia[3 * b + 1], m->body_inertia[3 * b + 2]);
      std::map<std::string, XMLElement*> bodies;
      if (XMLElement* wb = doc_.RootElement()->FirstChildElement("worldbody")) index_named(wb, "body", bodies);
      if (name && bodies.count(name)) {
        XMLElement* be = bodies[name];
        XMLElement* inertial = be->FirstChildElement("inertial");
        fail(inertial ? inertial : be, fmt::format("body '{}': {}", name, what));
      }
      throw ModelError(fmt::format("{}: body {} '{}': {}", file_.string(), b, name ? name : "", what));
    }
  }

  // ---------------------------------------------------------------------------------------------

  fs::path file_, main_dir_;
  Options options_;
  XMLDocument doc_;
  std::unordered_map<const XMLElement*, Origin> origins_;
  std::vector<std::string> rewrites_;
  std::map<std::string, DefClass> classes_;
  std::vector<ActInfo> acts_;
  std::vector<ConnectPatch> connects_;
  bool degree_ = true;
  bool autolimits_ = false;
  std::string eulerseq_ = "xyz";
};

}  // namespace

Result load_mjcf_string(const std::string& xml, const fs::path& virtual_file, const Options& options) {
  Translator t(virtual_file, options);
  return t.run(xml);
}

Result load_mjcf(const fs::path& file, const Options& options) {
  const std::string text = read_text_file(file);
  return load_mjcf_string(text, file, options);
}

}  // namespace oh::model::compat
