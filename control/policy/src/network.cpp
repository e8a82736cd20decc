// Policy networks: LibTorch's TorchScript interpreter (reference) and a native Eigen MLP/LSTM/GRU that reads the
// same weights from the TorchScript module at load time.
// Sources: torch.nn.LSTM / torch.nn.GRU / torch.nn.ELU documentation (gate order i,f,g,o and r,z,n);
// rsl_rl / legged_gym PolicyExporterLSTM (memory → actor, hidden_state/cell_state buffers, reset_memory()).
#include "control/policy/policy.hpp"

#include <torch/script.h>

#include <fmt/format.h>

#include <cmath>
#include <random>

namespace oh::control::policy {
namespace {

// The native path computes in double from the float32 weights (exactly representable), so its only difference
// from LibTorch is LibTorch's own float32 rounding.
using Scalar = double;
using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

std::string short_type(const torch::jit::Module& m) {
  const auto q = m.type()->name() ? m.type()->name()->qualifiedName() : std::string("?");
  const auto dot = q.rfind('.');
  return dot == std::string::npos ? q : q.substr(dot + 1);
}

Mat to_matrix(const at::Tensor& t, const std::string& what) {
  if (t.dim() != 2) throw PolicyError(fmt::format("{}: expected a 2-D weight, got {}-D", what, t.dim()));
  const at::Tensor c = t.to(at::kFloat).contiguous();
  Mat m(c.size(0), c.size(1));
  const float* p = c.data_ptr<float>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = p[i * m.cols() + j];
  return m;
}

Vec to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous().reshape({-1});
  Vec v(c.numel());
  const float* p = c.data_ptr<float>();
  for (Eigen::Index i = 0; i < v.size(); ++i) v[i] = p[i];
  return v;
}

bool has_constant(const torch::jit::Module& m, const std::string& name) { return m.type()->hasConstant(name); }
c10::IValue constant(const torch::jit::Module& m, const std::string& name) { return m.type()->getConstant(name); }

enum class Act { kIdentity, kElu, kRelu, kTanh, kSigmoid, kLeakyRelu };

struct Dense {
  Mat W;
  Vec b;
  Act act = Act::kIdentity;
  Scalar alpha = 1;        ///< ELU alpha or LeakyReLU slope
  Vec y;                   ///< output buffer
};

void activate(Act a, Scalar alpha, Vec& y) {
  switch (a) {
    case Act::kIdentity: return;
    case Act::kElu:
      for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = y[i] > 0 ? y[i] : alpha * std::expm1(y[i]);
      return;
    case Act::kRelu: y = y.cwiseMax(Scalar(0)); return;
    case Act::kTanh: y = y.array().tanh(); return;
    case Act::kSigmoid:
      for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = Scalar(1) / (Scalar(1) + std::exp(-y[i]));
      return;
    case Act::kLeakyRelu:
      for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = y[i] > 0 ? y[i] : alpha * y[i];
      return;
  }
}

const char* act_name(Act a) {
  switch (a) {
    case Act::kIdentity: return "";
    case Act::kElu: return " elu";
    case Act::kRelu: return " relu";
    case Act::kTanh: return " tanh";
    case Act::kSigmoid: return " sigmoid";
    case Act::kLeakyRelu: return " leaky_relu";
  }
  return "";
}

/// Reads a Sequential of Linear and activation modules.
std::vector<Dense> read_mlp(const torch::jit::Module& seq, const std::string& where) {
  std::vector<Dense> layers;
  for (const auto& child : seq.named_children()) {
    const std::string t = short_type(child.value);
    const std::string name = where + "." + child.name;
    if (t == "Linear") {
      Dense d;
      d.W = to_matrix(child.value.attr("weight").toTensor(), name + ".weight");
      const auto b = child.value.attr("bias");
      d.b = b.isTensor() ? to_vector(b.toTensor()) : Vec::Zero(d.W.rows());
      if (!layers.empty() && layers.back().W.rows() != d.W.cols())
        throw PolicyError(fmt::format("{}: takes {} inputs, the previous layer gives {}", name, d.W.cols(),
                                      layers.back().W.rows()));
      d.y.resize(d.W.rows());
      layers.push_back(std::move(d));
      continue;
    }
    Act a;
    Scalar alpha = 1;
    if (t == "ELU") {
      a = Act::kElu;
      if (has_constant(child.value, "alpha")) alpha = constant(child.value, "alpha").toDouble();
    } else if (t == "ReLU") {
      a = Act::kRelu;
    } else if (t == "Tanh") {
      a = Act::kTanh;
    } else if (t == "Sigmoid") {
      a = Act::kSigmoid;
    } else if (t == "LeakyReLU") {
      a = Act::kLeakyRelu;
      alpha = has_constant(child.value, "negative_slope") ? constant(child.value, "negative_slope").toDouble() : 0.01;
    } else if (t == "Identity") {
      continue;
    } else {
      throw PolicyError(fmt::format("{}: module type '{}' is not supported by the native backend", name, t));
    }
    if (layers.empty() || layers.back().act != Act::kIdentity)
      throw PolicyError(fmt::format("{}: activation '{}' without a preceding Linear", name, t));
    layers.back().act = a;
    layers.back().alpha = alpha;
  }
  if (layers.empty()) throw PolicyError(fmt::format("{}: no Linear layer", where));
  return layers;
}

/// LSTM or GRU, seq_len 1, batch 1, unidirectional, any number of layers.
struct Recurrent {
  bool lstm = true;
  int layers = 1, input = 0, hidden = 0;
  std::vector<Mat> Wih, Whh;
  std::vector<Vec> bih, bhh;
  Mat h, c, h0, c0;  ///< hidden × layers
  Vec gi, gh;        ///< gate buffers
  Vec x;             ///< layer input buffer (hidden)

  void step(const Vec& in) {
    const int H = hidden;
    for (int l = 0; l < layers; ++l) {
      if (l > 0) x = h.col(l - 1);
      const Vec& xin = l == 0 ? in : x;
      gi.noalias() = Wih[l] * xin;
      gi += bih[l];
      gh.noalias() = Whh[l] * h.col(l);
      gh += bhh[l];
      if (lstm) {
        gi += gh;  // i, f, g, o
        for (int k = 0; k < H; ++k) {
          const Scalar ig = 1 / (1 + std::exp(-gi[k]));
          const Scalar fg = 1 / (1 + std::exp(-gi[H + k]));
          const Scalar gg = std::tanh(gi[2 * H + k]);
          const Scalar og = 1 / (1 + std::exp(-gi[3 * H + k]));
          const Scalar cn = fg * c(k, l) + ig * gg;
          c(k, l) = cn;
          h(k, l) = og * std::tanh(cn);
        }
      } else {  // GRU: r, z, n
        for (int k = 0; k < H; ++k) {
          const Scalar r = 1 / (1 + std::exp(-(gi[k] + gh[k])));
          const Scalar z = 1 / (1 + std::exp(-(gi[H + k] + gh[H + k])));
          const Scalar n = std::tanh(gi[2 * H + k] + r * gh[2 * H + k]);
          h(k, l) = (1 - z) * n + z * h(k, l);
        }
      }
    }
  }
};

Recurrent read_rnn(const torch::jit::Module& m, const std::string& where) {
  Recurrent r;
  const std::string t = short_type(m);
  r.lstm = t == "LSTM";
  auto get_int = [&](const char* k, int dflt) {
    return has_constant(m, k) ? static_cast<int>(constant(m, k).toInt()) : dflt;
  };
  r.layers = get_int("num_layers", 1);
  if (has_constant(m, "bidirectional") && constant(m, "bidirectional").toBool())
    throw PolicyError(fmt::format("{}: bidirectional {} is not supported", where, t));
  if (get_int("proj_size", 0) != 0) throw PolicyError(fmt::format("{}: LSTM projections are not supported", where));
  const int gates = r.lstm ? 4 : 3;
  for (int l = 0; l < r.layers; ++l) {
    r.Wih.push_back(to_matrix(m.attr(fmt::format("weight_ih_l{}", l)).toTensor(), where + ".weight_ih"));
    r.Whh.push_back(to_matrix(m.attr(fmt::format("weight_hh_l{}", l)).toTensor(), where + ".weight_hh"));
    const bool bias = !has_constant(m, "bias") || constant(m, "bias").toBool();
    r.bih.push_back(bias ? to_vector(m.attr(fmt::format("bias_ih_l{}", l)).toTensor())
                         : Vec::Zero(r.Wih.back().rows()));
    r.bhh.push_back(bias ? to_vector(m.attr(fmt::format("bias_hh_l{}", l)).toTensor())
                         : Vec::Zero(r.Whh.back().rows()));
  }
  r.hidden = static_cast<int>(r.Whh[0].cols());
  r.input = static_cast<int>(r.Wih[0].cols());
  for (int l = 0; l < r.layers; ++l)
    if (r.Wih[l].rows() != gates * r.hidden || r.Whh[l].rows() != gates * r.hidden)
      throw PolicyError(fmt::format("{}: layer {} weights have {} rows, expected {} ({} gates × hidden {})", where, l,
                                    r.Wih[l].rows(), gates * r.hidden, gates, r.hidden));
  r.h = r.c = r.h0 = r.c0 = Mat::Zero(r.hidden, r.layers);
  r.gi.resize(gates * r.hidden);
  r.gh.resize(gates * r.hidden);
  r.x.resize(r.hidden);
  return r;
}

void check_sizes(const Network& n, Eigen::Index obs, Eigen::Index act) {
  if (obs != n.input_size())
    throw PolicyError(fmt::format("network forward: observation has {} values, the network takes {}", obs, n.input_size()));
  if (act != n.output_size())
    throw PolicyError(fmt::format("network forward: action buffer has {} values, the network gives {}", act,
                                  n.output_size()));
}

/// The structure of a supported module: optional recurrent `memory` then an MLP.
struct Parsed {
  std::optional<Recurrent> rnn;
  std::vector<Dense> mlp;
};

Parsed parse(const torch::jit::Module& m, const std::string& file) {
  Parsed p;
  const std::string top = short_type(m);
  if (top == "Sequential") {
    p.mlp = read_mlp(m, file);
    return p;
  }
  std::optional<torch::jit::Module> memory, actor;
  for (const auto& c : m.named_children()) {
    if (c.name == "memory") memory = c.value;
    if (c.name == "actor") actor = c.value;
  }
  if (!actor || short_type(*actor) != "Sequential")
    throw PolicyError(fmt::format("{}: module '{}' is neither a Sequential MLP nor an exported policy with an 'actor' "
                                  "Sequential (use the torch backend)", file, top));
  p.mlp = read_mlp(*actor, file + ":actor");
  if (memory) {
    const std::string t = short_type(*memory);
    if (t != "LSTM" && t != "GRU")
      throw PolicyError(fmt::format("{}: memory module '{}' is not an LSTM or GRU", file, t));
    p.rnn = read_rnn(*memory, file + ":memory");
    Recurrent& r = *p.rnn;
    const auto bufs = m.named_buffers(false);
    for (const auto& b : bufs) {
      if (b.name == "hidden_state" || b.name == "cell_state") {
        const at::Tensor v = b.value;
        if (v.numel() != r.hidden * r.layers)
          throw PolicyError(fmt::format("{}: buffer {} has {} values, expected {} (layers {} × hidden {})", file, b.name,
                                        v.numel(), r.hidden * r.layers, r.layers, r.hidden));
        const Vec flat = to_vector(v);  // [layers, 1, hidden]
        Mat& dst = b.name == "hidden_state" ? r.h0 : r.c0;
        for (int l = 0; l < r.layers; ++l) dst.col(l) = flat.segment(l * r.hidden, r.hidden);
      }
    }
    r.h = r.h0;
    r.c = r.c0;
    if (p.mlp.front().W.cols() != r.hidden)
      throw PolicyError(fmt::format("{}: actor takes {} inputs, memory gives {}", file, p.mlp.front().W.cols(), r.hidden));
  }
  return p;
}

torch::jit::Module load_module(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file))
    throw PolicyError(fmt::format("{}: policy network file not found", file.string()));
  try {
    torch::jit::Module m = torch::jit::load(file.string());
    m.eval();
    return m;
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    throw PolicyError(fmt::format("{}: not a TorchScript file LibTorch can load: {}", file.string(),
                                  msg.substr(0, msg.find('\n'))));
  }
}

class TorchNetwork : public Network {
 public:
  TorchNetwork(torch::jit::Module m, int in, int out, bool recurrent, std::string file)
      : m_(std::move(m)), in_(in), out_(out), recurrent_(recurrent), file_(std::move(file)) {
    input_ = torch::zeros({1, in_}, torch::kFloat);
    has_reset_ = m_.find_method("reset_memory").has_value();
  }
  int input_size() const override { return in_; }
  int output_size() const override { return out_; }
  bool recurrent() const override { return recurrent_; }
  std::string describe() const override { return fmt::format("torch {} ({}→{})", file_, in_, out_); }
  void reset() override {
    if (has_reset_) m_.run_method("reset_memory");
  }
  void forward(const Eigen::Ref<const Eigen::VectorXf>& obs, Eigen::Ref<Eigen::VectorXf> action) override {
    check_sizes(*this, obs.size(), action.size());
    torch::NoGradGuard ng;
    std::copy(obs.data(), obs.data() + in_, input_.data_ptr<float>());
    const at::Tensor y = m_.forward({input_}).toTensor().to(at::kFloat).contiguous();
    if (y.numel() != out_)
      throw PolicyError(fmt::format("{}: forward gave {} values, expected {}", file_, y.numel(), out_));
    std::copy(y.data_ptr<float>(), y.data_ptr<float>() + out_, action.data());
  }

 private:
  torch::jit::Module m_;
  at::Tensor input_;
  int in_, out_;
  bool recurrent_, has_reset_ = false;
  std::string file_;
};

class NativeNetwork : public Network {
 public:
  NativeNetwork(Parsed p, std::string file) : p_(std::move(p)), file_(std::move(file)) {}
  int input_size() const override {
    return p_.rnn ? p_.rnn->input : static_cast<int>(p_.mlp.front().W.cols());
  }
  int output_size() const override { return static_cast<int>(p_.mlp.back().W.rows()); }
  bool recurrent() const override { return p_.rnn.has_value(); }
  std::string describe() const override {
    std::string s = "native ";
    if (p_.rnn)
      s += fmt::format("{}({}→{}, {} layer{}) → ", p_.rnn->lstm ? "lstm" : "gru", p_.rnn->input, p_.rnn->hidden,
                       p_.rnn->layers, p_.rnn->layers > 1 ? "s" : "");
    s += fmt::format("mlp {}", p_.mlp.front().W.cols());
    for (const auto& d : p_.mlp) s += fmt::format("-{}{}", d.W.rows(), act_name(d.act));
    return s;
  }
  void reset() override {
    if (p_.rnn) {
      p_.rnn->h.setZero();
      p_.rnn->c.setZero();
    }
  }
  void forward(const Eigen::Ref<const Eigen::VectorXf>& obs, Eigen::Ref<Eigen::VectorXf> action) override {
    check_sizes(*this, obs.size(), action.size());
    const Vec* x = nullptr;
    in_ = obs.cast<Scalar>();  // sized at construction: no allocation
    if (p_.rnn) {
      p_.rnn->step(in_);
      p_.rnn->x = p_.rnn->h.col(p_.rnn->layers - 1);
      x = &p_.rnn->x;
    } else {
      x = &in_;
    }
    for (auto& d : p_.mlp) {
      d.y.noalias() = d.W * *x;
      d.y += d.b;
      activate(d.act, d.alpha, d.y);
      x = &d.y;
    }
    action = x->cast<float>();
  }
  void prepare() { in_.resize(input_size()); }

 private:
  Parsed p_;
  Vec in_;
  std::string file_;
};

}  // namespace

std::unique_ptr<Network> load_network(const std::filesystem::path& file, Backend backend) {
  torch::jit::Module m = load_module(file);
  const std::string name = file.filename().string();
  Parsed p;
  try {
    p = parse(m, file.string());
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    throw PolicyError(fmt::format("{}: unexpected module structure: {}", file.string(), msg.substr(0, msg.find('\n'))));
  }
  const int in = p.rnn ? p.rnn->input : static_cast<int>(p.mlp.front().W.cols());
  const int out = static_cast<int>(p.mlp.back().W.rows());
  if (backend == Backend::kTorch) return std::make_unique<TorchNetwork>(std::move(m), in, out, p.rnn.has_value(), name);

  auto native = std::make_unique<NativeNetwork>(std::move(p), name);
  native->prepare();
  // Check the native path against LibTorch on a copy of the module: a few stateful random steps.
  TorchNetwork ref(m.clone(), in, out, native->recurrent(), name);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Eigen::VectorXf x(in), a(out), b(out);
  float err = 0;
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < in; ++i) x[i] = nd(rng);
    native->forward(x, a);
    ref.forward(x, b);
    err = std::max(err, (a - b).cwiseAbs().maxCoeff());
  }
  if (!(err < 1e-4f))
    throw PolicyError(fmt::format("{}: the native network differs from LibTorch by {:.3g} on a test input; the module "
                                  "does more than memory → actor (use the torch backend)", file.string(), err));
  // Back to the saved initial state.
  native = std::make_unique<NativeNetwork>(parse(m, file.string()), name);
  native->prepare();
  return native;
}

}  // namespace oh::control::policy
