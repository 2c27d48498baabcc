import Linalg
import MoE

/// The "router" of the experts a rank holds: the rows it received were routed by their own
/// ranks already, so row `r` goes to local expert `experts[r]` with weight 1, and the
/// local `MoELayer`'s dispatch, grouped GEMMs and backward do the rest.
struct AssignedRouter<Scalar: BLASScalar>: Router {
  /// The local expert of each received row.
  var experts: [Int]
  let expertCount: Int
  var defaultK: Int { 1 }

  func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    precondition(x.rows == experts.count, "AssignedRouter: \(x.rows) rows for \(experts.count) assignments")
    let empty = Matrix<Scalar>(rows: x.rows, columns: expertCount)
    return RoutingDecision(
      tokenCount: x.rows, expertCount: expertCount,
      assignments: experts.enumerated().map { ExpertAssignment(token: $0, expert: $1, weight: 1, choice: 0) },
      logits: empty, probabilities: empty)
  }

  mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    Matrix(rows: x.rows, columns: x.columns)
  }

  mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {}
}
