/// What can go wrong between the processes of an expert-parallel run. Every MPI call
/// returns its error code (the communicators' error handler is `MPI_ERRORS_RETURN`), and
/// the call becomes one of these instead of an abort.
public enum DistributedError: Error, Equatable, CustomStringConvertible {
  /// An MPI call failed: the call, its error code and MPI's own words for it.
  case mpi(call: String, code: Int32, message: String)
  /// A collective did not complete within the communicator's timeout: a rank stopped
  /// taking part (it failed, or is stuck), so this one gives up instead of hanging.
  case timedOut(operation: String, seconds: Double)
  /// The ranks were started with different configurations: the fingerprint of each rank's
  /// shapes, placement, router and weights, and which ranks differ from rank 0's.
  case mismatchedConfiguration(differingRanks: [Int], fingerprints: [UInt64])
  /// An expert placement that does not give every expert exactly one rank of the
  /// communicator.
  case invalidPlacement(String)
  /// More elements in one message than MPI's 32-bit counts can address.
  case messageTooLarge(operation: String, elements: Int)
  /// A router whose decision needs the whole batch at once (expert choice, Sinkhorn), so
  /// ranks that route only their own tokens would not reproduce it.
  case unsupportedRouter(String)

  /// One line naming the problem.
  public var description: String {
    switch self {
    case .mpi(let call, let code, let message):
      "\(call) failed with MPI error \(code): \(message)"
    case .timedOut(let operation, let seconds):
      "\(operation) did not complete within \(seconds) s: another rank failed or stopped taking part"
    case .mismatchedConfiguration(let ranks, let fingerprints):
      "the configuration of rank(s) \(ranks.map(String.init).joined(separator: ", ")) differs from rank 0's (fingerprints \(fingerprints.map { String($0, radix: 16) }.joined(separator: ", "))): start every rank with the same shapes, seeds and placement"
    case .invalidPlacement(let reason):
      "invalid expert placement: \(reason)"
    case .messageTooLarge(let operation, let elements):
      "\(operation) would send \(elements) elements in one message, more than MPI's limit of \(Int32.max)"
    case .unsupportedRouter(let name):
      "\(name) routes over the whole batch at once; an expert-parallel layer needs a token-choice router (each rank routes its own tokens)"
    }
  }
}
