/// Which experts a memory budget holds, and which to evict: the bookkeeping of an expert
/// cache, without the weights (so a routing trace can be replayed in microseconds).
///
/// Every expert has the same size. An access is a hit when the expert is resident;
/// otherwise it is loaded, evicting — least recently used first (`LRU`) or least often
/// used first, ties to the least recent (`LFU`, counting uses since the program started,
/// resident or not) — until it fits.
public struct ExpertResidency: Sendable {
  /// Which expert to evict first.
  public enum Policy: String, Sendable, CaseIterable {
    /// The one used longest ago.
    case leastRecentlyUsed = "LRU"
    /// The one used least often (then the one used longest ago).
    case leastFrequentlyUsed = "LFU"
  }

  /// One expert: its layer and its index in that layer.
  public struct Key: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The layer.
    public var layer: Int
    /// The expert within the layer.
    public var expert: Int
    /// A key.
    public init(layer: Int, expert: Int) { (self.layer, self.expert) = (layer, expert) }
    /// Layer first.
    public static func < (a: Key, b: Key) -> Bool { (a.layer, a.expert) < (b.layer, b.expert) }
    /// `layer.expert`.
    public var description: String { "\(layer).\(expert)" }
  }

  /// What an access did.
  public enum Outcome: Equatable, Sendable {
    /// The expert was resident.
    case hit
    /// The expert was loaded, evicting these.
    case miss(evicted: [Key])
  }

  /// The eviction order.
  public let policy: Policy
  /// How many experts fit in the budget (at least one).
  public let capacity: Int
  /// The experts held now.
  public private(set) var resident: Set<Key> = []
  private var lastUse: [Key: Int] = [:]
  private var uses: [Key: Int] = [:]
  private var clock = 0

  /// Bookkeeping for a budget of `budgetBytes` and experts of `expertBytes` each.
  ///
  /// - Precondition: `expertBytes > 0`; the budget holds at least one expert.
  public init(budgetBytes: Int, expertBytes: Int, policy: Policy) {
    precondition(expertBytes > 0, "ExpertResidency: expert size \(expertBytes) must be positive")
    precondition(
      budgetBytes >= expertBytes,
      "ExpertResidency: a budget of \(budgetBytes) bytes holds no expert of \(expertBytes)")
    self.policy = policy
    capacity = budgetBytes / expertBytes
  }

  /// Records a use of `key` (a demand access, or a prefetch when `counting` is false, which
  /// loads without counting as a use for LFU), never evicting `key` or the keys in
  /// `sparing` (the rest of a prefetched batch).
  public mutating func access(_ key: Key, counting: Bool = true, sparing: Set<Key> = []) -> Outcome {
    clock += 1
    lastUse[key] = clock
    if counting { uses[key, default: 0] += 1 }
    if resident.contains(key) { return .hit }
    var evicted: [Key] = []
    // The batch is spared while something else can go; a batch larger than the budget
    // evicts its own earlier members rather than exceed it.
    while resident.count >= capacity,
      let victim = victim(sparing: sparing.union([key])) ?? victim(sparing: [key])
    {
      resident.remove(victim)
      evicted.append(victim)
    }
    resident.insert(key)
    return .miss(evicted: evicted)
  }

  /// Makes a batch resident ahead of its use: touches the resident ones and loads the
  /// others (in key order), never evicting a member of the batch while anything else can
  /// go; a prefetch does not count as a use for LFU.
  ///
  /// - Returns: the keys loaded and the keys evicted to make room.
  public mutating func prefetch(_ batch: Set<Key>) -> (loaded: [Key], evicted: [Key]) {
    var (loaded, evicted): ([Key], [Key]) = ([], [])
    for key in batch.sorted() {
      if case .miss(let victims) = access(key, counting: false, sparing: batch) {
        loaded.append(key)
        evicted += victims
      }
    }
    return (loaded, evicted)
  }

  /// The resident expert to evict next (none of `spared`).
  func victim(sparing spared: Set<Key>) -> Key? {
    resident.filter { !spared.contains($0) }.min { a, b in
      switch policy {
      case .leastRecentlyUsed:
        return lastUse[a, default: 0] < lastUse[b, default: 0]
      case .leastFrequentlyUsed:
        let (ua, ub) = (uses[a, default: 0], uses[b, default: 0])
        return ua != ub ? ua < ub : lastUse[a, default: 0] < lastUse[b, default: 0]
      }
    }
  }
}
