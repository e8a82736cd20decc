// The dashboard API's JSON messages (docs/api.md): the robot description for rendering, the state stream,
// and the command messages with their validation. No sockets here, so every rule is testable on its own.
#pragma once

#include "runtime/session.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace oh::server {

/// Largest command message accepted [bytes]; longer ones get an error reply.
inline constexpr std::size_t kMaxMessageBytes = 4096;
/// A velocity component beyond this multiple of its limit is refused as out of range; below it, it is clamped.
inline constexpr double kVelocityRangeFactor = 4.0;

/// GET /api/robot: model summary, the hardware joints with their limits, bodies, every geom (MuJoCo size
/// semantics, pose in its body frame, rgba, MuJoCo visibility group) and every mesh (vertices: base64 of little-endian float32 xyz
/// triples [m]; faces: base64 of little-endian uint32 index triples), command limits and control period.
nlohmann::json robot_json(const runtime::Session& session);

/// One state message of the stream ("type": "state"); see docs/api.md for the fields, units and frames.
/// `seq` numbers the messages of this server; `clients` is the number of connected WebSocket clients.
nlohmann::json state_json(const runtime::SessionSnapshot& s, std::uint64_t seq, int clients);

/// Standard base64 (RFC 4648, with padding) of `n` bytes.
std::string base64(const void* data, std::size_t n);

/// Handles one command message. `authorized`: whether this client may command the robot (see Server); it is
/// set to true by a valid {"op": "auth"} when `token` is not empty. Returns the reply: {"type": "reply", "op",
/// "ok": true, ...} when the command was accepted, {"type": "error", "error": <reason>, ...} otherwise (bad
/// JSON, not an object, unknown op, wrong type, non-finite or out-of-range value, refused by the session,
/// missing authorization). Never throws; a refused message never reaches the session.
nlohmann::json handle_message(std::string_view text, runtime::Session& session, bool& authorized,
                              const std::string& token);

/// Constant-time string comparison for tokens.
bool token_equal(const std::string& a, const std::string& b);

}  // namespace oh::server
