/// Which rank of a communicator holds which expert.
///
/// `contiguous` gives rank `r` the experts `⌊r·E/P⌋ ..< ⌊(r+1)·E/P⌋` (DeepSpeed-MoE's and
/// Megatron's default); `init(owners:ranks:)` takes any assignment, so hot experts can sit
/// on ranks of their own.
public struct ExpertPlacement: Sendable, Equatable {
  /// `owners[e]`: the rank holding expert `e`.
  public let owners: [Int]
  /// `P`, the ranks the experts are spread over.
  public let rankCount: Int

  /// A placement from each expert's rank.
  ///
  /// - Throws: `DistributedError.invalidPlacement` when there are no experts or an owner
  ///   is outside `0 ..< ranks`.
  public init(owners: [Int], ranks: Int) throws(DistributedError) {
    guard ranks >= 1 else { throw .invalidPlacement("\(ranks) ranks; needs at least one") }
    guard !owners.isEmpty else { throw .invalidPlacement("no experts to place") }
    if let e = owners.firstIndex(where: { !(0..<ranks).contains($0) }) {
      throw .invalidPlacement("expert \(e) is placed on rank \(owners[e]), outside 0..<\(ranks)")
    }
    self.owners = owners
    self.rankCount = ranks
  }

  /// `experts` experts in `ranks` contiguous blocks whose sizes differ by at most one.
  public static func contiguous(experts: Int, ranks: Int) throws(DistributedError) -> ExpertPlacement {
    guard ranks >= 1 else { throw .invalidPlacement("\(ranks) ranks; needs at least one") }
    return try ExpertPlacement(owners: (0..<experts).map { $0 * ranks / experts }, ranks: ranks)
  }

  /// `E`.
  public var expertCount: Int { owners.count }

  /// The experts `rank` holds, in increasing order.
  public func experts(of rank: Int) -> [Int] { owners.indices.filter { owners[$0] == rank } }

  /// Every expert ordered by its rank and then its index: the order in which a rank's
  /// outgoing rows are laid out (each destination's rows consecutive, as all-to-all-v needs).
  var expertsByOwner: [Int] { owners.indices.sorted { (owners[$0], $0) < (owners[$1], $1) } }
}
