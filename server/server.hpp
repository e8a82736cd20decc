// The dashboard server: HTTP (the built web app and the REST API) and a WebSocket state stream with commands,
// on Boost.Beast/Asio, for one runtime::Session. Protocol: docs/api.md; message rules: server/protocol.hpp.
#pragma once

#include "runtime/session.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace oh::server {

/// Options of a Server.
struct ServerOptions {
  std::string bind = "127.0.0.1";  ///< address to listen on (IPv4 or IPv6 literal, or "localhost")
  std::uint16_t port = 8080;       ///< 0: any free port (see Server::port())
  /// Token for commands. Empty: none on 127.0.0.1 / ::1 / localhost; a random one is made for any other
  /// address (127.0.0.2 included). Set: always required.
  std::string token;
  std::filesystem::path web_root;  ///< the built web app; empty: default_web_root()
  double stream_hz = 50.0;         ///< state messages per second per client, in [1, 200]
};

/// Where the built web app is looked for: env OH_WEB_DIR, else the build tree's web/dist (set at configure time),
/// else web/dist in the source tree.
std::filesystem::path default_web_root();

/// True for the addresses that need no token by default: 127.0.0.1, ::1 and "localhost".
bool is_default_loopback(const std::string& address);

/// Serves one session. Endpoints: GET / and the web app's files, GET /api/robot, GET /api/status,
/// POST /api/command (one command message as the body; token as "Authorization: Bearer T" or ?token=T),
/// WebSocket /ws (token as ?token=T or an "auth" message). Several clients may watch at once.
class Server {
 public:
  /// Throws std::invalid_argument for a bad address or stream rate.
  Server(runtime::Session& session, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts serving on a background thread. Throws std::runtime_error when the address cannot be
  /// bound (in use, not local).
  void start();
  /// Closes every connection and joins the thread; idempotent.
  void stop();
  /// The port actually bound (after start()).
  std::uint16_t port() const;
  /// The token commands need; empty when none is needed.
  const std::string& token() const;
  /// "http://<bind>:<port>/".
  std::string url() const;
  /// Connected WebSocket clients.
  int clients() const;

  struct Impl;  ///< implementation (server/src/server.cpp), public so its connection classes can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace oh::server
