// Timings of oh::dynamics beside the equivalent MuJoCo 2.2.2 calls, on the Unitree G1 (nv = 35) and H1
// (nv = 25) from ../shared. Each benchmark cycles through 256 random states and runs 10 repetitions;
// the medians are the figures in docs/performance.md. Filter with --benchmark_filter=, e.g. 'H1/.*rnea'.
// MuJoCo runs with contacts, constraints, passive and actuator forces and sensors disabled, so it does
// the same rigid-body work.
#include "dynamics/dynamics.hpp"
#include "model/model.hpp"

#include <benchmark/benchmark.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using oh::dynamics::Data;
using oh::dynamics::Model;

struct Bench {
  std::string name;
  oh::model::LoadedRobot robot;
  std::unique_ptr<Model> model;
  std::unique_ptr<Data> data;
  mjData* d = nullptr;
  std::vector<Eigen::VectorXd> q, v, a, tau, qvel, qacc;
  Eigen::MatrixXd dense;  // MuJoCo outputs
  Eigen::VectorXd out;

  mjModel* m() const { return robot.mj.get(); }
  ~Bench() {
    if (d) mj_deleteData(d);
  }
};

constexpr int kStates = 256;

std::unique_ptr<Bench> make_bench(const std::string& name, const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "skipping %s: %s not found (set OH_SHARED_DIR)\n", name.c_str(), path.c_str());
    return nullptr;
  }
  auto b = std::make_unique<Bench>();
  b->name = name;
  b->robot = oh::model::load(path);
  b->m()->opt.disableflags |= mjDSBL_CONSTRAINT | mjDSBL_CONTACT | mjDSBL_PASSIVE | mjDSBL_ACTUATION | mjDSBL_SENSOR;
  b->model = std::make_unique<Model>(b->robot.model);
  b->data = std::make_unique<Data>(*b->model);
  b->d = mj_makeData(b->m());
  const int nv = b->model->nv;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int k = 0; k < kStates; ++k) {
    b->q.push_back(oh::dynamics::random_configuration(*b->model, 1000 + k));
    Eigen::VectorXd v(nv), a(nv), t(nv), qv(nv), qa(nv);
    for (int i = 0; i < nv; ++i) {
      v[i] = 2 * u(rng);
      a[i] = 5 * u(rng);
      t[i] = 20 * u(rng);
    }
    oh::dynamics::velocity_to_mujoco(*b->model, b->q.back(), v, qv);
    oh::dynamics::acceleration_to_mujoco(*b->model, b->q.back(), v, a, qa);
    b->v.push_back(v);
    b->a.push_back(a);
    b->tau.push_back(t);
    b->qvel.push_back(qv);
    b->qacc.push_back(qa);
  }
  b->dense.resize(nv, nv);
  b->out.resize(nv);
  return b;
}

// Copies state k into MuJoCo's qpos / qvel / qacc / qfrc_applied.
void set_mj(Bench& b, int k) {
  const int nq = b.m()->nq, nv = b.m()->nv;
  std::copy_n(b.q[k].data(), nq, b.d->qpos);
  std::copy_n(b.qvel[k].data(), nv, b.d->qvel);
  std::copy_n(b.qacc[k].data(), nv, b.d->qacc);
  std::copy_n(b.tau[k].data(), nv, b.d->qfrc_applied);
}

void run(benchmark::State& state, Bench& b, const std::function<void(Bench&, int)>& body) {
  int k = 0;
  for (auto _ : state) {
    body(b, k);
    benchmark::ClobberMemory();
    k = (k + 1) & (kStates - 1);
  }
}

// MuJoCo calls that need earlier stages: the stages are computed once for state 0, outside the timed
// loop, and the timed call repeats on them (it does not modify its inputs).
void run_mj(benchmark::State& state, Bench& b, const std::function<void(Bench&)>& setup,
            const std::function<void(Bench&)>& timed) {
  set_mj(b, 0);
  setup(b);
  for (auto _ : state) {
    timed(b);
    benchmark::ClobberMemory();
  }
}

// Ten repetitions, reported as mean / median / stddev / cv / min (the table in docs/performance.md
// quotes medians). Command-line --benchmark_repetitions overrides nothing set here, so the defaults
// are what every run reports.
void configure(benchmark::internal::Benchmark* bm) {
  bm->Unit(benchmark::kMicrosecond)
      ->Repetitions(10)
      ->ReportAggregatesOnly(true)
      ->MinTime(0.05)
      ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

void register_all(Bench& b) {
  using oh::dynamics::ReferenceFrame;
  namespace od = oh::dynamics;
  auto reg = [&](const std::string& name, std::function<void(Bench&, int)> body) {
    configure(benchmark::RegisterBenchmark((b.name + "/" + name).c_str(),
                                           [&b, body](benchmark::State& s) { run(s, b, body); }));
  };
  auto reg_mj = [&](const std::string& name, std::function<void(Bench&)> setup, std::function<void(Bench&)> timed) {
    configure(benchmark::RegisterBenchmark((b.name + "/" + name).c_str(),
                                           [&b, setup, timed](benchmark::State& s) { run_mj(s, b, setup, timed); }));
  };

  // Forward kinematics.
  reg("oh/forward_kinematics(q)", [](Bench& b, int k) { od::forward_kinematics(*b.model, *b.data, b.q[k]); });
  reg("oh/forward_kinematics(q,v,a)",
      [](Bench& b, int k) { od::forward_kinematics(*b.model, *b.data, b.q[k], b.v[k], b.a[k]); });
  reg("mj/mj_kinematics", [](Bench& b, int k) {
    std::copy_n(b.q[k].data(), b.m()->nq, b.d->qpos);
    mj_kinematics(b.m(), b.d);
  });

  // All joint Jacobians (MuJoCo: the motion subspaces cdof come from mj_comPos).
  reg("oh/compute_joint_jacobians", [](Bench& b, int k) { od::compute_joint_jacobians(*b.model, *b.data, b.q[k]); });
  reg("mj/mj_kinematics+mj_comPos", [](Bench& b, int k) {
    std::copy_n(b.q[k].data(), b.m()->nq, b.d->qpos);
    mj_kinematics(b.m(), b.d);
    mj_comPos(b.m(), b.d);
  });

  // Inverse dynamics.
  reg("oh/rnea", [](Bench& b, int k) { od::rnea(*b.model, *b.data, b.q[k], b.v[k], b.a[k]); });
  reg_mj("mj/mj_rne_only",
         [](Bench& b) {
           mj_kinematics(b.m(), b.d);
           mj_comPos(b.m(), b.d);
           mj_comVel(b.m(), b.d);
         },
         [](Bench& b) { mj_rne(b.m(), b.d, 1, b.out.data()); });
  reg("mj/mj_kinematics+comPos+comVel+rne", [](Bench& b, int k) {
    set_mj(b, k);
    mj_kinematics(b.m(), b.d);
    mj_comPos(b.m(), b.d);
    mj_comVel(b.m(), b.d);
    mj_rne(b.m(), b.d, 1, b.out.data());
  });
  reg("oh/compute_generalized_gravity", [](Bench& b, int k) { od::compute_generalized_gravity(*b.model, *b.data, b.q[k]); });
  reg("oh/nonlinear_effects", [](Bench& b, int k) { od::nonlinear_effects(*b.model, *b.data, b.q[k], b.v[k]); });

  // Joint-space inertia matrix.
  reg("oh/crba", [](Bench& b, int k) { od::crba(*b.model, *b.data, b.q[k]); });
  reg_mj("mj/mj_crb_only",
         [](Bench& b) {
           mj_kinematics(b.m(), b.d);
           mj_comPos(b.m(), b.d);
         },
         [](Bench& b) { mj_crb(b.m(), b.d); });
  reg("mj/mj_kinematics+comPos+crb+fullM", [](Bench& b, int k) {
    std::copy_n(b.q[k].data(), b.m()->nq, b.d->qpos);
    mj_kinematics(b.m(), b.d);
    mj_comPos(b.m(), b.d);
    mj_crb(b.m(), b.d);
    mj_fullM(b.m(), b.dense.data(), b.d->qM);
  });

  // Forward dynamics.
  reg("oh/aba", [](Bench& b, int k) { od::aba(*b.model, *b.data, b.q[k], b.v[k], b.tau[k]); });
  reg("mj/mj_forward", [](Bench& b, int k) {
    set_mj(b, k);
    mj_forward(b.m(), b.d);
  });

  // Inverse of the inertia matrix.
  reg("oh/compute_minverse", [](Bench& b, int k) { od::compute_minverse(*b.model, *b.data, b.q[k]); });
  reg("mj/kinematics+comPos+crb+factorM+solveM(I)", [](Bench& b, int k) {
    std::copy_n(b.q[k].data(), b.m()->nq, b.d->qpos);
    mj_kinematics(b.m(), b.d);
    mj_comPos(b.m(), b.d);
    mj_crb(b.m(), b.d);
    mj_factorM(b.m(), b.d);
    b.dense.setIdentity();
    mj_solveM(b.m(), b.d, b.dense.data(), b.dense.data(), b.m()->nv);
  });

  // Centroidal momentum.
  reg("oh/ccrba", [](Bench& b, int k) { od::ccrba(*b.model, *b.data, b.q[k], b.v[k]); });
  reg("mj/kinematics+comPos+comVel+subtreeVel", [](Bench& b, int k) {
    set_mj(b, k);
    mj_kinematics(b.m(), b.d);
    mj_comPos(b.m(), b.d);
    mj_comVel(b.m(), b.d);
    mj_subtreeVel(b.m(), b.d);
  });
  reg("oh/centroidal_momentum_time_variation", [](Bench& b, int k) {
    od::compute_centroidal_momentum_time_variation(*b.model, *b.data, b.q[k], b.v[k], b.a[k]);
  });

  // Centre of mass, frames.
  reg("oh/center_of_mass(q)", [](Bench& b, int k) { od::center_of_mass(*b.model, *b.data, b.q[k]); });
  reg("oh/jacobian_center_of_mass", [](Bench& b, int k) { od::jacobian_center_of_mass(*b.model, *b.data, b.q[k]); });
  reg("oh/compute_joint_jacobians_time_variation",
      [](Bench& b, int k) { od::compute_joint_jacobians_time_variation(*b.model, *b.data, b.q[k], b.v[k]); });
}

}  // namespace

int main(int argc, char** argv) {
  const auto shared = oh::model::shared_dir();
  std::vector<std::unique_ptr<Bench>> benches;
  for (const auto& [name, rel] : {std::pair<std::string, std::string>{"G1", "robots/unitree_g1/scene.xml"},
                                  std::pair<std::string, std::string>{"H1", "robots/unitree_h1/scene.xml"}}) {
    if (auto b = make_bench(name, shared / rel)) benches.push_back(std::move(b));
  }
  for (auto& b : benches) register_all(*b);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
