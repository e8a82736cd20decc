// Helpers shared by the MuJoCo-3 compatibility layer's translation units (compat.cpp, urdf.cpp, load.cpp).
// Private to model/src.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

struct mjModel_;
namespace tinyxml2 {
class XMLDocument;
}

namespace oh::model::compat {

/// Serializes calls into MuJoCo's XML compiler (mj_loadXML / mj_saveLastXML keep global state in 2.2.2).
std::mutex& mujoco_compiler_mutex();

/// Reads a whole file; throws ModelError "<file>: no such file" and the like.
std::string read_text_file(const std::filesystem::path& file);

/// Parses XML text; throws ModelError "<file>:<line>: malformed XML (...)".
void parse_xml(tinyxml2::XMLDocument& doc, const std::string& text, const std::string& file);

/// Prints a document (indented, one element per line).
std::string print_xml(const tinyxml2::XMLDocument& doc);

/// Compiles MJCF/URDF text from memory through an mjVFS. Returns null and sets `error` (MuJoCo's text)
/// on failure. The caller must hold mujoco_compiler_mutex().
mjModel_* compile_raw(const std::string& xml, const std::filesystem::path& virtual_file, std::string& error);

/// Numbers in a whitespace-separated attribute value (stops at the first non-number); empty for null.
std::vector<double> parse_numbers(const char* text);

/// Shortest text that reads back as the same double ("0" for +-0).
std::string fmt_num(double v);
std::string fmt_nums(const double* v, int n);

/// Collapses a (MuJoCo) message to one line.
std::string one_line(const std::string& text);

}  // namespace oh::model::compat
