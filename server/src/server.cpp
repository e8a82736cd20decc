#include "server/server.hpp"

#include "server/protocol.hpp"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef OH_WEB_DIST
#define OH_WEB_DIST ""
#endif
#ifndef OH_SOURCE_DIR
#define OH_SOURCE_DIR ""
#endif

namespace oh::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// Largest HTTP request body and WebSocket message read [bytes]; a larger WebSocket message closes the
/// connection (close code 1009), as RFC 6455 has it.
constexpr std::size_t kMaxReadBytes = 64 * 1024;
/// State messages waiting for a slow client beyond which new ones are dropped for it.
constexpr std::size_t kMaxQueuedStates = 4;

std::string random_token() {
  std::random_device rd;
  std::string t;
  for (int i = 0; i < 4; ++i) t += fmt::format("{:08x}", rd());
  return t;
}

/// The value of `key` in the query string of `target` ("/ws?token=abc"), or empty.
std::string query_param(std::string_view target, std::string_view key) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view kv = rest.substr(0, amp);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == key) return std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

const char* mime_type(const std::filesystem::path& p) {
  const std::string e = p.extension().string();
  if (e == ".html") return "text/html; charset=utf-8";
  if (e == ".js" || e == ".mjs") return "text/javascript; charset=utf-8";
  if (e == ".css") return "text/css; charset=utf-8";
  if (e == ".json") return "application/json";
  if (e == ".svg") return "image/svg+xml";
  if (e == ".png") return "image/png";
  if (e == ".ico") return "image/x-icon";
  if (e == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

const char* kNotBuiltPage = R"(<!doctype html><html><head><meta charset="utf-8"><title>OpenHumanoid</title></head>
<body style="background:#111;color:#ddd;font:15px sans-serif;padding:2em">
<h2>The dashboard is not built</h2><p>Run <code>scripts/quickstart.sh build</code> (or <code>npm ci</code> in
<code>web/</code> and rebuild). The API is up: <a href="/api/status" style="color:#8cf">/api/status</a>,
<a href="/api/robot" style="color:#8cf">/api/robot</a>, WebSocket <code>/ws</code>.</p></body></html>)";

}  // namespace

std::filesystem::path default_web_root() {
  if (const char* e = std::getenv("OH_WEB_DIR"); e && *e) return e;
  const std::filesystem::path built = OH_WEB_DIST;
  std::error_code ec;
  if (!built.empty() && std::filesystem::exists(built / "index.html", ec)) return built;
  const std::filesystem::path src = std::filesystem::path(OH_SOURCE_DIR) / "web" / "dist";
  if (std::filesystem::exists(src / "index.html", ec)) return src;
  return built;
}

bool is_default_loopback(const std::string& a) { return a == "127.0.0.1" || a == "::1" || a == "localhost"; }

class WsSession;

struct Server::Impl {
  runtime::Session& session;
  ServerOptions opt;
  std::string token;
  net::ip::address address;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer timer{ioc};
  std::thread thread;
  std::set<std::shared_ptr<WsSession>> sockets;
  std::atomic<int> nclients{0};
  std::uint64_t seq = 0;
  std::uint16_t port = 0;
  bool running = false;
  std::string robot_cache;  ///< /api/robot, built once

  Impl(runtime::Session& s, ServerOptions o) : session(s), opt(std::move(o)) {
    if (!(opt.stream_hz >= 1.0 && opt.stream_hz <= 200.0))
      throw std::invalid_argument(fmt::format("stream rate {} Hz: must be in [1, 200]", opt.stream_hz));
    boost::system::error_code ec;
    address = net::ip::make_address(opt.bind == "localhost" ? "127.0.0.1" : opt.bind, ec);
    if (ec) throw std::invalid_argument(fmt::format("--bind '{}': not an IP address", opt.bind));
    token = !opt.token.empty() ? opt.token : is_default_loopback(opt.bind) ? std::string() : random_token();
    if (opt.web_root.empty()) opt.web_root = default_web_root();
    robot_cache = robot_json(session).dump();
  }

  json status() const {
    const runtime::SessionSnapshot s = session.snapshot();
    const runtime::CommandLimits lim = session.limits();
    std::error_code ec;
    return {{"robot", session.model().name},
            {"mode", runtime::mode_name(s.mode)},
            {"task", s.task},
            {"t", s.t},
            {"episode", s.episode},
            {"clients", nclients.load()},
            {"token_required", !token.empty()},
            {"bind", opt.bind},
            {"port", port},
            {"stream_hz", opt.stream_hz},
            {"command_limits", {{"vx", lim.max_vx}, {"vy", lim.max_vy}, {"wz", lim.max_wz}}},
            {"real_time_factor", s.real_time_factor},
            {"web_built", std::filesystem::exists(opt.web_root / "index.html", ec)}};
  }

  Response reply(const Request& req, http::status st, std::string body, const char* type) const {
    Response res{st, req.version()};
    res.set(http::field::server, "OpenHumanoid");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }
  Response json_reply(const Request& req, http::status st, const json& j) const {
    return reply(req, st, j.dump(), "application/json");
  }

  Response handle_http(const Request& req) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = path_of(target);
    if (path.starts_with("/api/")) {
      if (path == "/api/robot" && req.method() == http::verb::get)
        return reply(req, http::status::ok, robot_cache, "application/json");
      if (path == "/api/status" && req.method() == http::verb::get) return json_reply(req, http::status::ok, status());
      if (path == "/api/command" && req.method() == http::verb::post) {
        std::string given = query_param(target, "token");
        const auto auth = req[http::field::authorization];
        if (auth.starts_with("Bearer ")) given = std::string(auth.substr(7));
        bool authorized = token.empty() || token_equal(given, token);
        const json r = handle_message(req.body(), session, authorized, token);
        return json_reply(req, r["type"] == "error" ? http::status::bad_request : http::status::ok, r);
      }
      return json_reply(req, http::status::not_found, {{"type", "error"}, {"error", "no such endpoint"}});
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return json_reply(req, http::status::method_not_allowed, {{"type", "error"}, {"error", "GET only"}});
    // Static files under web_root; no "..", no hidden files; unknown paths get the app (single page).
    std::string rel(path.substr(1));
    if (rel.empty() || rel.back() == '/') rel += "index.html";
    if (rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos || rel.find("/.") != std::string::npos ||
        rel.front() == '.')
      return json_reply(req, http::status::bad_request, {{"type", "error"}, {"error", "bad path"}});
    std::filesystem::path file = opt.web_root / rel;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) file = opt.web_root / "index.html";
    std::ifstream in(file, std::ios::binary);
    if (!in) return reply(req, http::status::ok, kNotBuiltPage, "text/html; charset=utf-8");
    std::ostringstream body;
    body << in.rdbuf();
    Response res = reply(req, http::status::ok, body.str(), mime_type(file));
    res.set(http::field::cache_control, "no-cache");
    return res;
  }

  void accept();
  void broadcast();
};

/// One WebSocket client: a read loop answering commands and a write queue carrying replies and states.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& socket, Server::Impl& srv) : ws_(std::move(socket)), srv_(srv) {}

  void run(Request req) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string given = query_param(target, "token");
    // Without a token (loopback default), a page from another origin stays read-only.
    const auto origin = req[http::field::origin];
    const std::string host(req[http::field::host]);
    const bool same_origin = origin.empty() || origin == "http://" + host || origin == "https://" + host;
    authorized_ = srv_.token.empty() ? same_origin : token_equal(given, srv_.token);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(kMaxReadBytes);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  /// Queues a message; states beyond kMaxQueuedStates waiting are dropped for this client.
  void send(std::shared_ptr<const std::string> msg, bool state) {
    if (closed_) return;
    if (state && queued_states_ >= kMaxQueuedStates) return;
    queue_.push_back({std::move(msg), state});
    queued_states_ += state;
    if (!writing_) write();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    srv_.sockets.insert(shared_from_this());
    srv_.nclients = static_cast<int>(srv_.sockets.size());
    const runtime::CommandLimits lim = srv_.session.limits();
    const json hello{{"type", "hello"},
                     {"robot", srv_.session.model().name},
                     {"token_required", !srv_.token.empty()},
                     {"authorized", authorized_},
                     {"stream_hz", srv_.opt.stream_hz},
                     {"command_limits", {{"vx", lim.max_vx}, {"vy", lim.max_vy}, {"wz", lim.max_wz}}}};
    send(std::make_shared<const std::string>(hello.dump()), false);
    read();
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return drop();
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    json r = ws_.got_text() ? handle_message(text, srv_.session, authorized_, srv_.token)
                            : json{{"type", "error"}, {"error", "binary messages are not accepted"}};
    send(std::make_shared<const std::string>(r.dump()), false);
    read();
  }

  void write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front().first),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return drop();
    queued_states_ -= queue_.front().second;
    queue_.pop_front();
    if (queue_.empty()) writing_ = false;
    else write();
  }

  void drop() {
    closed_ = true;
    srv_.sockets.erase(shared_from_this());
    srv_.nclients = static_cast<int>(srv_.sockets.size());
  }

  websocket::stream<beast::tcp_stream> ws_;
  Server::Impl& srv_;
  beast::flat_buffer buffer_;
  std::deque<std::pair<std::shared_ptr<const std::string>, bool>> queue_;
  std::size_t queued_states_ = 0;
  bool writing_ = false, closed_ = false, authorized_ = false;
};

/// One HTTP connection: requests in turn, handed to a WsSession on an upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Server::Impl& srv) : stream_(std::move(socket)), srv_(srv) {}
  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxReadBytes);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    Request req = parser_->release();
    if (websocket::is_upgrade(req)) {
      if (path_of(std::string_view(req.target().data(), req.target().size())) != "/ws") {
        write(srv_.json_reply(req, http::status::not_found, {{"type", "error"}, {"error", "WebSocket is at /ws"}}));
        return;
      }
      stream_.expires_never();
      std::make_shared<WsSession>(stream_.release_socket(), srv_)->run(std::move(req));
      return;
    }
    Response res;
    try {
      res = srv_.handle_http(req);
    } catch (const std::exception& e) {
      res = srv_.json_reply(req, http::status::internal_server_error, {{"type", "error"}, {"error", e.what()}});
    }
    if (req.method() == http::verb::head) res.body().clear();
    write(std::move(res));
  }

  void write(Response res) {
    auto sp = std::make_shared<Response>(std::move(res));
    http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (sp->need_eof()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  Server::Impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<HttpSession>(std::move(socket), *this)->run();
    accept();
  });
}

void Server::Impl::broadcast() {
  timer.expires_at(timer.expiry() + std::chrono::duration_cast<net::steady_timer::duration>(
                                        std::chrono::duration<double>(1.0 / opt.stream_hz)));
  timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    if (!sockets.empty()) {
      const auto msg = std::make_shared<const std::string>(
          state_json(session.snapshot(), ++seq, static_cast<int>(sockets.size())).dump());
      const auto copy = sockets;  // a failed send may erase
      for (const auto& s : copy) s->send(msg, true);
    }
    // Behind by more than a period (a stalled machine): skip ahead instead of bursting.
    if (timer.expiry() < net::steady_timer::clock_type::now() - std::chrono::milliseconds(100))
      timer.expires_at(net::steady_timer::clock_type::now());
    broadcast();
  });
}

Server::Server(runtime::Session& session, ServerOptions options)
    : impl_(std::make_shared<Impl>(session, std::move(options))) {}

Server::~Server() { stop(); }

void Server::start() {
  Impl& s = *impl_;
  if (s.running) return;
  const tcp::endpoint ep(s.address, s.opt.port);
  boost::system::error_code ec;
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", s.opt.bind, s.opt.port, ec.message()));
  s.port = s.acceptor.local_endpoint().port();
  s.accept();
  s.timer.expires_at(net::steady_timer::clock_type::now());
  s.broadcast();
  s.running = true;
  s.thread = std::thread([&s] { s.ioc.run(); });
}

void Server::stop() {
  Impl& s = *impl_;
  if (!s.running) return;
  s.running = false;
  net::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    s.timer.cancel();
    for (const auto& w : s.sockets) w->close();
    s.sockets.clear();
    s.ioc.stop();
  });
  if (s.thread.joinable()) s.thread.join();
}

std::uint16_t Server::port() const { return impl_->port; }
const std::string& Server::token() const { return impl_->token; }
std::string Server::url() const {
  const std::string host = impl_->address.is_v6() ? "[" + impl_->opt.bind + "]" : impl_->opt.bind;
  return fmt::format("http://{}:{}/", host, impl_->port);
}
int Server::clients() const { return impl_->nclients.load(); }

}  // namespace oh::server
