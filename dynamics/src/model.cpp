// Building the dynamics tree from an oh::model::Model, and sizing Data.
#include "dynamics/dynamics.hpp"
#include "model/model.hpp"

#include <cmath>
#include <random>
#include <stdexcept>

namespace oh::dynamics {
namespace {

// Where a body's frame sits: the node it moves with and its placement in that node's frame.
struct BodyAttachment {
  int node = 0;
  SE3 placement = SE3::Identity();
};

bool is_identity(const Mat3& R) { return R == Mat3::Identity(); }

void classify_axis(Node& n) {
  n.axis_index = -1;
  n.axis_sign = 1.0;
  for (int k = 0; k < 3; ++k) {
    Vec3 e = Vec3::Zero();
    e[k] = 1.0;
    if (n.axis == e || n.axis == -e) {
      n.axis_index = static_cast<std::int8_t>(k);
      n.axis_sign = n.axis[k];
      n.axis = e * n.axis_sign;
    }
  }
}

std::string joint_label(const oh::model::Model& src, int j) {
  const auto& jt = src.joints[j];
  return "joint '" + (jt.name.empty() ? "#" + std::to_string(j) : jt.name) + "' of body '" + src.bodies[jt.body].name + "'";
}

}  // namespace

Model::Model(const oh::model::Model& src) {
  nq = src.nq;
  nv = src.nv;
  gravity = src.gravity;
  qpos0 = src.qpos0.size() == nq ? src.qpos0 : Eigen::VectorXd::Zero(nq);
  armature = Eigen::VectorXd::Zero(nv);
  damping = Eigen::VectorXd::Zero(nv);

  Node universe;
  universe.subtree_end = 0;
  nodes.push_back(universe);
  node_names.push_back("universe");

  std::vector<BodyAttachment> attach(src.bodies.size());
  for (size_t b = 1; b < src.bodies.size(); ++b) {
    const auto& body = src.bodies[b];
    if (body.parent < 0 || static_cast<size_t>(body.parent) >= b)
      throw std::invalid_argument("body '" + body.name + "': parent must precede it");
    const BodyAttachment& up = attach[body.parent];
    SE3 current = up.placement * SE3::FromQuat(body.quat, body.pos);  // body frame in node `up.node` at qpos0
    int node_index = up.node;

    for (size_t k = 0; k < body.joints.size(); ++k) {
      const int j = body.joints[k];
      const auto& jt = src.joints[j];
      Node n;
      n.parent = node_index;
      n.joint = j;
      n.body = static_cast<int>(b);
      n.idx_q = jt.q_index;
      n.idx_v = jt.v_index;
      switch (jt.type) {
        case oh::model::JointType::kFree:
          if (body.parent != 0)
            throw std::invalid_argument(joint_label(src, j) + ": a free joint is only supported on a child of the world");
          if (body.joints.size() != 1)
            throw std::invalid_argument(joint_label(src, j) + ": a free joint must be its body's only joint");
          n.type = JointType::kFree;
          n.nq = 7;
          n.nv = 6;
          n.placement = SE3::Identity();  // MuJoCo: the free joint's qpos is the body's world pose
          current = SE3::Identity();
          break;
        case oh::model::JointType::kRevolute:
        case oh::model::JointType::kPrismatic: {
          n.type = jt.type == oh::model::JointType::kRevolute ? JointType::kRevolute : JointType::kPrismatic;
          n.nq = n.nv = 1;
          const double norm = jt.axis.norm();
          if (!(norm > 0.0) || !std::isfinite(norm))
            throw std::invalid_argument(joint_label(src, j) + ": zero or invalid axis");
          n.axis = jt.axis / norm;
          classify_axis(n);
          n.q0 = jt.qpos0;
          n.limited = jt.limited;
          n.lower = jt.lower;
          n.upper = jt.upper;
          // Node frame: the body's axes with its origin on the anchor. MuJoCo rotates the body about the
          // anchor, so the body frame sits at -anchor in the node frame afterwards.
          n.placement = current * SE3(Mat3::Identity(), jt.pos);
          current = SE3(Mat3::Identity(), -jt.pos);
          break;
        }
        case oh::model::JointType::kBall:
          throw std::invalid_argument(joint_label(src, j) + ": ball joints are not supported by oh::dynamics");
      }
      n.placement_rotation_is_identity = is_identity(n.placement.R);
      for (int d = 0; d < n.nv; ++d) {
        armature[n.idx_v + d] = jt.armature;
        damping[n.idx_v + d] = jt.damping;
      }
      node_index = static_cast<int>(nodes.size());
      nodes.push_back(n);
      node_names.push_back(jt.name);
    }
    attach[b] = {node_index, current};
    if (body.mass > 0.0 || !body.inertia.isZero(0.0)) {
      Inertia& I = nodes[node_index].inertia;
      const Inertia Yb(body.mass, body.com, body.inertia);
      I += Yb.transformed(current);
    }
    total_mass += body.mass;
  }

  // DoF bookkeeping: MuJoCo's dof order is the node order, so v indices must be consecutive.
  dof_parent.assign(nv, -1);
  dof_node.assign(nv, 0);
  std::vector<int> last_dof(nodes.size(), -1);
  int expect = 0;
  for (size_t i = 1; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.idx_v != expect) throw std::invalid_argument("joint '" + node_names[i] + "': velocity indices are not in tree order");
    expect += n.nv;
    int parent_dof = last_dof[n.parent];
    for (int d = 0; d < n.nv; ++d) {
      dof_parent[n.idx_v + d] = parent_dof;
      dof_node[n.idx_v + d] = static_cast<int>(i);
      parent_dof = n.idx_v + d;
    }
    last_dof[i] = parent_dof;
  }
  dof_row_adr.assign(nv, 0);
  dof_row_len.assign(nv, 0);
  dof_row_col.clear();
  for (int k = 0; k < nv; ++k) {
    dof_row_adr[k] = static_cast<int>(dof_row_col.size());
    for (int j = k; j >= 0; j = dof_parent[j]) dof_row_col.push_back(j);
    dof_row_len[k] = static_cast<int>(dof_row_col.size()) - dof_row_adr[k];
  }
  if (expect != nv) throw std::invalid_argument("oh::dynamics::Model: joints cover " + std::to_string(expect) + " DoFs of nv = " + std::to_string(nv));

  // Depth-first order: a node's subtree is the contiguous range [i, subtree_end].
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].subtree_end = static_cast<int>(i);
  for (size_t i = nodes.size() - 1; i > 0; --i) {
    Node& p = nodes[nodes[i].parent];
    p.subtree_end = std::max(p.subtree_end, nodes[i].subtree_end);
  }
  for (size_t i = 1; i < nodes.size(); ++i)
    if (nodes[i].parent >= static_cast<int>(i) || nodes[nodes[i].parent].subtree_end < nodes[i].subtree_end)
      throw std::invalid_argument("oh::dynamics::Model: bodies are not in depth-first order");

  // Frames: every body and site of the source model, same indices.
  body_frame.assign(src.bodies.size(), -1);
  frames.reserve(src.frames.size());
  for (size_t k = 0; k < src.frames.size(); ++k) {
    const auto& fr = src.frames[k];
    if (fr.body < 0 || static_cast<size_t>(fr.body) >= src.bodies.size())
      throw std::invalid_argument("frame '" + fr.name + "': invalid body index");
    FrameInfo info;
    info.name = fr.name;
    info.is_site = fr.kind == oh::model::Frame::Kind::kSite;
    info.body = fr.body;
    info.node = attach[fr.body].node;
    info.placement = attach[fr.body].placement * SE3::FromQuat(fr.quat, fr.pos);
    if (!info.is_site && body_frame[fr.body] < 0) body_frame[fr.body] = static_cast<int>(k);
    frames.push_back(std::move(info));
  }
}

int Model::frame_id(const std::string& name) const {
  for (size_t k = 0; k < frames.size(); ++k)
    if (frames[k].name == name) return static_cast<int>(k);
  return -1;
}

int Model::node_id(const std::string& name) const {
  for (size_t k = 1; k < node_names.size(); ++k)
    if (node_names[k] == name) return static_cast<int>(k);
  return -1;
}

Data::Data(const Model& model) {
  const size_t n = model.nodes.size();
  const int nv = model.nv;
  liMi.assign(n, SE3::Identity());
  oMi.assign(n, SE3::Identity());
  oMf.assign(model.frames.size(), SE3::Identity());
  v.assign(n, Motion::Zero());
  a.assign(n, Motion::Zero());
  ov.assign(n, Motion::Zero());
  oa.assign(n, Motion::Zero());
  f.assign(n, Force::Zero());
  J = Matrix6Xd::Zero(6, nv);
  dJ = Matrix6Xd::Zero(6, nv);
  tau = Eigen::VectorXd::Zero(nv);
  g = Eigen::VectorXd::Zero(nv);
  nle = Eigen::VectorXd::Zero(nv);
  ddq = Eigen::VectorXd::Zero(nv);
  M = Eigen::MatrixXd::Zero(nv, nv);
  Minv = Eigen::MatrixXd::Zero(nv, nv);
  LD = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(model.dof_row_col.size()));
  oYcrb.assign(n, InertiaAtOrigin::Zero());
  com_subtree.assign(n, Vec3::Zero());
  mass_subtree.assign(n, 0.0);
  Jcom = Matrix3Xd::Zero(3, nv);
  Ag = Matrix6Xd::Zero(6, nv);
  Ia.assign(n, Mat6::Zero());
  pA.assign(n, Force::Zero());
  oS.assign(n, Motion::Zero());
  oc.assign(n, Motion::Zero());
  U.assign(n, Vec6::Zero());
  Dinv.assign(n, 0.0);
  u.assign(n, 0.0);
}

Eigen::VectorXd random_configuration(const Model& model, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  Eigen::VectorXd q = model.qpos0;
  for (size_t i = 1; i < model.nodes.size(); ++i) {
    const Node& n = model.nodes[i];
    if (n.type == JointType::kFree) {
      for (int k = 0; k < 3; ++k) q[n.idx_q + k] = unit(rng);
      Eigen::Vector4d quat(unit(rng), unit(rng), unit(rng), unit(rng));
      quat /= quat.norm();
      q.segment<4>(n.idx_q + 3) = quat;
    } else if (n.limited && n.upper > n.lower) {
      q[n.idx_q] = n.lower + 0.5 * (unit(rng) + 1.0) * (n.upper - n.lower);
    } else {
      q[n.idx_q] = M_PI * unit(rng);
    }
  }
  return q;
}

}  // namespace oh::dynamics
