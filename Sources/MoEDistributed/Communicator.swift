import CMPI
import Linalg

/// A group of processes started by `mpirun` and the collectives MoEKit needs between them.
///
/// ```swift
/// let world = try Communicator.world()
/// let total = try world.allReduce([Float(world.rank)])   // [0 + 1 + … + (P − 1)]
/// try Communicator.finalize()
/// ```
///
/// Every collective starts non-blocking and waits with a timeout (`timeout`), so a rank
/// whose peer failed throws `DistributedError.timedOut` instead of hanging; MPI errors
/// come back as `DistributedError.mpi` (the communicator's error handler is
/// `MPI_ERRORS_RETURN`). Call the collectives from one thread (MPI is initialised with
/// `MPI_THREAD_FUNNELED`); the layers' compute may use every core meanwhile.
///
/// Every rank must call the same collectives in the same order, as MPI requires.
public final class Communicator: @unchecked Sendable {
  /// This process's rank, `0 ..< size`.
  public let rank: Int
  /// The number of processes.
  public let size: Int
  /// How long a collective may take before `wait` gives up.
  public var timeout: Duration
  private let handle: MPI_Comm?

  private init(handle: MPI_Comm?, timeout: Duration) throws(DistributedError) {
    self.handle = handle
    self.timeout = timeout
    var rank: Int32 = 0
    var size: Int32 = 0
    try Self.check("MPI_Comm_rank", MPI_Comm_rank(handle, &rank))
    try Self.check("MPI_Comm_size", MPI_Comm_size(handle, &size))
    self.rank = Int(rank)
    self.size = Int(size)
  }

  /// Every process of the run (a duplicate of `MPI_COMM_WORLD`, so MoEKit's traffic never
  /// mixes with the caller's), initialising MPI on first use.
  ///
  /// Without `mpirun` the process is a run of one (MPI's singleton start).
  public static func world(timeout: Duration = .seconds(120)) throws(DistributedError) -> Communicator {
    var initialised: Int32 = 0
    try check("MPI_Initialized", MPI_Initialized(&initialised))
    if initialised == 0 {
      var provided: Int32 = 0
      try check("MPI_Init_thread", MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided))
    }
    try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()))
    var duplicate = cmpi_comm_null()
    try check("MPI_Comm_dup", MPI_Comm_dup(cmpi_comm_world(), &duplicate))
    try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(duplicate, cmpi_errors_return()))
    return try Communicator(handle: duplicate, timeout: timeout)
  }

  /// Ends MPI for this process (`MPI_Finalize`); call once, after the last collective of
  /// every communicator. Does nothing when MPI was never started.
  public static func finalize() throws(DistributedError) {
    var initialised: Int32 = 0
    var finalised: Int32 = 0
    try check("MPI_Initialized", MPI_Initialized(&initialised))
    try check("MPI_Finalized", MPI_Finalized(&finalised))
    if initialised != 0 && finalised == 0 { try check("MPI_Finalize", MPI_Finalize()) }
  }

  /// Ends every process of the communicator with `code` (`MPI_Abort`): what a rank that
  /// cannot go on does, so the others never wait for it.
  public func abort(code: Int32) -> Never {
    _ = MPI_Abort(handle, code)
    fatalError("MPI_Abort returned")
  }

  // MARK: Collectives

  /// Waits until every rank has called it.
  public func barrier() throws(DistributedError) {
    let nothing = MessageBuffer(byteCount: 0)
    _ = try PendingCollective<Int>(
      operation: "barrier", received: nothing, receivedCount: 0, retained: [], timeout: timeout
    ) { MPI_Ibarrier(handle, $0) }.wait()
  }

  /// The element-wise reduction of every rank's `values` (same count on every rank), on
  /// every rank.
  public func allReduce<T: MPIElement>(_ values: [T], _ operation: Reduction = .sum) throws(DistributedError)
    -> [T]
  {
    try Self.checkCount("all-reduce", values.count)
    let send = values.withUnsafeBufferPointer { MessageBuffer(copying: $0) }
    let received = MessageBuffer(byteCount: values.count * MemoryLayout<T>.stride)
    return try PendingCollective<T>(
      operation: "all-reduce", received: received, receivedCount: values.count, retained: [send],
      timeout: timeout
    ) {
      MPI_Iallreduce(send.base, received.base, Int32(values.count), T.datatype, operation.handle, handle, $0)
    }.wait()
  }

  /// Every rank's `values` (counts may differ), on every rank, in rank order.
  public func allGather<T: MPIElement>(_ values: [T]) throws(DistributedError) -> [[T]] {
    let counts = try allGatherCounts(values.count, operation: "all-gather")
    let total = counts.reduce(0, +)
    try Self.checkCount("all-gather", total)
    let send = values.withUnsafeBufferPointer { MessageBuffer(copying: $0) }
    let layout = MessageBuffer(countsAndDisplacements: counts)
    let received = MessageBuffer(byteCount: total * MemoryLayout<T>.stride)
    let flat = try PendingCollective<T>(
      operation: "all-gather", received: received, receivedCount: total, retained: [send, layout],
      timeout: timeout
    ) {
      let ints = layout.base.assumingMemoryBound(to: Int32.self)
      return MPI_Iallgatherv(
        send.base, Int32(values.count), T.datatype, received.base, ints, ints + size, T.datatype, handle, $0)
    }.wait()
    var start = 0
    return counts.map { count in
      defer { start += count }
      return Array(flat[start..<start + count])
    }
  }

  /// Sends `counts[r]` to rank `r` and returns what each rank sent this one
  /// (`MPI_Alltoall` of one integer per pair): how ranks tell each other how much is coming.
  public func allToAll(_ counts: [Int]) throws(DistributedError) -> [Int] {
    precondition(counts.count == size, "allToAll: \(counts.count) counts for \(size) ranks")
    let send = counts.withUnsafeBufferPointer { MessageBuffer(copying: $0) }
    let received = MessageBuffer(byteCount: size * MemoryLayout<Int>.stride)
    return try PendingCollective<Int>(
      operation: "all-to-all", received: received, receivedCount: size, retained: [send], timeout: timeout
    ) {
      MPI_Ialltoall(send.base, 1, Int.datatype, received.base, 1, Int.datatype, handle, $0)
    }.wait()
  }

  /// Starts the exchange in which this rank sends `values[offset_r ..< offset_r + sendCounts[r]]`
  /// to every rank `r` (consecutive slices in rank order) and receives `receiveCounts[r]`
  /// elements from each (`MPI_Ialltoallv`). The counts must match what the peers send.
  public func startAllToAllV<T: MPIElement>(
    _ values: [T], sendCounts: [Int], receiveCounts: [Int]
  ) throws(DistributedError) -> PendingCollective<T> {
    try startAllToAllV(
      values.withUnsafeBufferPointer { MessageBuffer(copying: $0) }, count: values.count,
      sendCounts: sendCounts,
      receiveCounts: receiveCounts)
  }

  /// `startAllToAllV` of whole rows: `sendRows[r]` consecutive rows of `rows` go to rank
  /// `r`, `receiveRows[r]` come from it; `waitForRows(columns:)` gives them as a matrix.
  public func startAllToAllV<T: MPIElement & BLASScalar>(
    rows: Matrix<T>, sendRows: [Int], receiveRows: [Int]
  ) throws(DistributedError) -> PendingCollective<T> {
    let width = rows.columns
    return try startAllToAllV(
      rows.withUnsafeBufferPointer { MessageBuffer(copying: $0) }, count: rows.count,
      sendCounts: sendRows.map { $0 * width }, receiveCounts: receiveRows.map { $0 * width })
  }

  /// The blocking form of `startAllToAllV(rows:…)`.
  public func allToAllV<T: MPIElement & BLASScalar>(
    rows: Matrix<T>, sendRows: [Int], receiveRows: [Int]
  ) throws(DistributedError) -> Matrix<T> {
    try startAllToAllV(rows: rows, sendRows: sendRows, receiveRows: receiveRows).waitForRows(
      columns: rows.columns)
  }

  /// The blocking form of `startAllToAllV(_:sendCounts:receiveCounts:)`.
  public func allToAllV<T: MPIElement>(_ values: [T], sendCounts: [Int], receiveCounts: [Int])
    throws(DistributedError) -> [T]
  {
    try startAllToAllV(values, sendCounts: sendCounts, receiveCounts: receiveCounts).wait()
  }

  /// `MPI_Ialltoallv` of the `count` elements in `send`.
  private func startAllToAllV<T: MPIElement>(
    _ send: MessageBuffer, count: Int, sendCounts: [Int], receiveCounts: [Int]
  ) throws(DistributedError) -> PendingCollective<T> {
    precondition(
      sendCounts.count == size && receiveCounts.count == size && sendCounts.reduce(0, +) == count,
      "startAllToAllV: \(sendCounts.count) send and \(receiveCounts.count) receive counts for \(size) ranks and \(count) values"
    )
    let total = receiveCounts.reduce(0, +)
    try Self.checkCount("all-to-all-v", Swift.max(total, count))
    let sendLayout = MessageBuffer(countsAndDisplacements: sendCounts)
    let receiveLayout = MessageBuffer(countsAndDisplacements: receiveCounts)
    let received = MessageBuffer(byteCount: total * MemoryLayout<T>.stride)
    return try PendingCollective<T>(
      operation: "all-to-all-v", received: received, receivedCount: total,
      retained: [send, sendLayout, receiveLayout], timeout: timeout
    ) {
      let s = sendLayout.base.assumingMemoryBound(to: Int32.self)
      let r = receiveLayout.base.assumingMemoryBound(to: Int32.self)
      return MPI_Ialltoallv(
        send.base, s, s + size, T.datatype, received.base, r, r + size, T.datatype, handle, $0)
    }
  }

  // MARK: Helpers

  private func allGatherCounts(_ count: Int, operation: String) throws(DistributedError) -> [Int] {
    let send = [count].withUnsafeBufferPointer { MessageBuffer(copying: $0) }
    let received = MessageBuffer(byteCount: size * MemoryLayout<Int>.stride)
    return try PendingCollective<Int>(
      operation: operation, received: received, receivedCount: size, retained: [send], timeout: timeout
    ) {
      MPI_Iallgather(send.base, 1, Int.datatype, received.base, 1, Int.datatype, handle, $0)
    }.wait()
  }

  /// Throws unless `code` is `MPI_SUCCESS`.
  static func check(_ call: String, _ code: Int32) throws(DistributedError) {
    if code != cmpi_success() { throw error(call: call, code: code) }
  }

  /// The error for `code` from `call`, with MPI's message.
  static func error(call: String, code: Int32) -> DistributedError {
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    _ = MPI_Error_string(code, &text, &length)
    let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return .mpi(call: call, code: code, message: message)
  }

  private static func checkCount(_ operation: String, _ elements: Int) throws(DistributedError) {
    if elements > Int(Int32.max) { throw .messageTooLarge(operation: operation, elements: elements) }
  }

  /// How `allReduce` combines the ranks' values.
  public enum Reduction: Sendable {
    /// The sum.
    case sum
    /// The largest.
    case max
    /// The smallest.
    case min

    var handle: MPI_Op {
      switch self {
      case .sum: cmpi_sum()
      case .max: cmpi_max()
      case .min: cmpi_min()
      }
    }
  }
}
