/// A layer shape of `dense-vs-sparse`'s table that ep-bench splits over the ranks.
struct Scenario: Sendable {
  var name: String
  var dimensions: Int
  var hidden: Int
  var experts: Int
  var topK: Int
  var sharedHidden: Int?

  /// C1 (Mixtral-like) and C2 (fine-grained with a shared expert), as in `dense-vs-sparse`.
  static let all = [
    Scenario(name: "C1", dimensions: 1024, hidden: 2816, experts: 8, topK: 2, sharedHidden: nil),
    Scenario(name: "C2", dimensions: 1024, hidden: 704, experts: 32, topK: 8, sharedHidden: 1408),
  ]

  /// The scenario called `name`, or `nil`.
  static func named(_ name: String) -> Scenario? { all.first { $0.name == name.uppercased() } }

  /// Width and hidden sizes divided by 4 for `--quick`.
  func scaled(quick: Bool) -> Scenario {
    guard quick else { return self }
    var small = self
    small.dimensions /= 4
    small.hidden /= 4
    small.sharedHidden = sharedHidden.map { $0 / 4 }
    return small
  }
}
