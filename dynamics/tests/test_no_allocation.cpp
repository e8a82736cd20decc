// No algorithm allocates after Data's construction: global operator new/delete count calls while armed,
// and so does malloc (interposed on glibc's __libc_malloc), which catches Eigen's own heap use.
#include "test_util.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_armed{false};
std::atomic<long> g_allocations{0};
std::atomic<long> g_mallocs{0};

void* counted_alloc(std::size_t n) {
  if (g_armed.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_alloc_aligned(std::size_t n, std::align_val_t al) {
  if (g_armed.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
}  // namespace

// Sanitizers interpose malloc themselves; there only operator new is counted.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OH_COUNT_MALLOC 0
#else
#define OH_COUNT_MALLOC 1
#endif

#if OH_COUNT_MALLOC
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t n) {
  if (g_armed.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t s) {
  if (g_armed.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, s);
}
void* realloc(void* p, std::size_t n) {
  if (g_armed.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
}
#endif

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace oh::dynamics::test {
namespace {

class NoAllocation : public ::testing::TestWithParam<std::string> {};

TEST_P(NoAllocation, AlgorithmsDoNotAllocateAfterDataConstruction) {
  std::string why;
  Robot* r = get_robot(GetParam(), why);
  if (!r) GTEST_SKIP() << why;
  const Model& m = *r->dyn;
  Data d(m);
  const State s = random_state(m, 1);
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(m.nv);
  Matrix6Xd J(6, m.nv), dJ(6, m.nv);
  Eigen::VectorXd q_out(m.nq), mj_vec(m.nv);
  Eigen::MatrixXd mj_mat(m.nv, m.nv), mj_jac(6, m.nv);
  const int frame = static_cast<int>(m.frames.size()) - 1;
  double sink = 0.0;

  g_allocations = 0;
  g_mallocs = 0;
  g_armed = true;
  {
    forward_kinematics(m, d, s.q);
    forward_kinematics(m, d, s.q, s.v);
    forward_kinematics(m, d, s.q, s.v, s.a);
    update_frame_placements(m, d);
    sink += frame_placement(m, d, frame).p.sum();
    sink += frame_velocity(m, d, frame, ReferenceFrame::kLocalWorldAligned).linear.sum();
    sink += frame_acceleration(m, d, frame, ReferenceFrame::kLocal).linear.sum();
    sink += frame_classical_acceleration(m, d, frame, ReferenceFrame::kWorld).linear.sum();
    compute_joint_jacobians(m, d, s.q);
    for (ReferenceFrame rf : {ReferenceFrame::kLocal, ReferenceFrame::kWorld, ReferenceFrame::kLocalWorldAligned}) {
      frame_jacobian(m, d, frame, rf, J);
      compute_frame_jacobian(m, d, s.q, frame, rf, J);
    }
    compute_joint_jacobians_time_variation(m, d, s.q, s.v);
    frame_jacobian_time_variation(m, d, frame, ReferenceFrame::kLocal, dJ);
    frame_jacobian_time_variation(m, d, frame, ReferenceFrame::kLocalWorldAligned, dJ);
    sink += rnea(m, d, s.q, s.v, s.a).sum();
    sink += compute_generalized_gravity(m, d, s.q).sum();
    sink += nonlinear_effects(m, d, s.q, s.v).sum();
    sink += crba(m, d, s.q)(0, 0);
    sink += compute_minverse(m, d, s.q)(0, 0);
    sink += aba(m, d, s.q, s.v, s.tau).sum();
    sink += aba(m, d, s.q, zero, zero).sum();
    sink += center_of_mass(m, d, s.q).sum();
    sink += center_of_mass(m, d, s.q, s.v).sum();
    sink += jacobian_center_of_mass(m, d, s.q)(0, 0);
    sink += ccrba(m, d, s.q, s.v)(0, 0);
    sink += compute_centroidal_momentum_time_variation(m, d, s.q, s.v, s.a).linear.sum();
    integrate(m, s.q, s.v, 0.01, q_out);
    normalize(m, q_out);
    velocity_to_mujoco(m, s.q, s.v, mj_vec);
    velocity_from_mujoco(m, s.q, mj_vec, mj_vec);
    acceleration_to_mujoco(m, s.q, s.v, s.a, mj_vec);
    acceleration_from_mujoco(m, s.q, s.v, mj_vec, mj_vec);
    force_to_mujoco(m, s.q, s.tau, mj_vec);
    force_from_mujoco(m, s.q, mj_vec, mj_vec);
    mass_matrix_from_mujoco(m, s.q, d.M, mj_mat);
    mass_matrix_from_mujoco(m, s.q, mj_mat, mj_mat);
    jacobian_from_mujoco(m, s.q, d.J, mj_jac);
  }
  g_armed = false;
  EXPECT_EQ(g_allocations.load(), 0) << "operator new calls during the algorithms (sink " << sink << ")";
  EXPECT_EQ(g_mallocs.load(), 0) << "malloc calls during the algorithms";
}

INSTANTIATE_TEST_SUITE_P(Robots, NoAllocation, ::testing::ValuesIn(robot_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace oh::dynamics::test
